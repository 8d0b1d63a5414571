/* SPDX-License-Identifier: GPL-2.0 */
/* AWS event-stream messages (application/vnd.amazon.eventstream), the framing
 * of Bedrock's streaming responses: [total length][headers length][prelude
 * CRC][headers][payload][message CRC], lengths big-endian. The CRCs are not
 * checked: the bytes were already authenticated by TLS. */
#ifndef EW_EVENTSTREAM_H
#define EW_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include "usage.h"

#define EVENTSTREAM_PRELUDE_LEN 12
#define EVENTSTREAM_MIN_LEN 16 /* a prelude and the message CRC */

/* The total length a message's prelude announces (at least
 * EVENTSTREAM_PRELUDE_LEN bytes must be given). */
uint32_t eventstream_message_len(const uint8_t *prelude);

/* One whole message: the usage its payload reports. ConverseStream payloads
 * are JSON (the metadata event holds "usage"); InvokeModelWithResponseStream
 * payloads are {"bytes":"<base64>"}, the model's own chunk, whose last one
 * holds amazon-bedrock-invocationMetrics. */
void eventstream_message(const uint8_t *msg, size_t len, struct usage *u);

#endif
