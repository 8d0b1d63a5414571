/* SPDX-License-Identifier: GPL-2.0 */
/* Sockets that were open before egresswatch started never passed the connect
 * hook. Each one that has a peer (or is UDP) gets its holder recorded as owner
 * in the socket-local storage, through a duplicate of its descriptor taken with
 * pidfd_getfd, so the packet hooks count it from then on. */
#ifndef EW_PREEXISTING_H
#define EW_PREEXISTING_H

struct preexisting_result {
	unsigned int attributed; /* sockets now counted, owner flagged preexisting */
	unsigned int failed;     /* sockets that could not be reached: counted as lost */
};

/* Scans /proc/[pid]/fd of every process. */
int preexisting_attribute(int owners_fd, struct preexisting_result *res);

#endif
