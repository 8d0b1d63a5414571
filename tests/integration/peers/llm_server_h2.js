// An LLM-API-shaped HTTP/2 server for the tests (node:http2 over TLS).
// POST /v1/chat/completions: JSON, or SSE when the body has "stream": true;
// POST /v1/messages: Anthropic-shaped SSE. Logs each request's token counts
// and a hash of its credential, as llm_server.py does.
'use strict';
const http2 = require('node:http2');
const fs = require('node:fs');
const crypto = require('node:crypto');

const [addr, port, cert, key, log, ready] = process.argv.slice(2);
let seed = 7;
const rand = (lo, hi) => { seed = (seed * 1103515245 + 12345) % 2147483648; return lo + seed % (hi - lo); };

function keyOf(h) {
  for (const name of ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key']) {
    if (h[name]) {
      const v = h[name].toLowerCase().startsWith('bearer ') ? h[name].slice(7) : h[name];
      return crypto.createHash('sha256').update(v).digest('hex').slice(0, 16);
    }
  }
  return null;
}

const server = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
server.on('stream', (stream, headers) => {
  let body = '';
  stream.on('data', (c) => { body += c; });
  stream.on('end', () => {
    const path = headers[':path'].split('?')[0];
    const req = body ? JSON.parse(body) : {};
    const tin = rand(10, 500), tout = rand(100, 5000);
    let ctype = 'application/json', out;
    if (path === '/v1/chat/completions' && !req.stream) {
      out = JSON.stringify({ id: 'c', choices: [{ message: { content: 'hi' } }],
        usage: { prompt_tokens: tin, completion_tokens: tout } });
    } else if (path === '/v1/chat/completions') {
      ctype = 'text/event-stream';
      out = [1, 2, 3].map((i) => `data: ${JSON.stringify({ choices: [{ delta: { content: 'x' } }], usage: null })}\n\n`).join('') +
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: tin, completion_tokens: tout } })}\n\ndata: [DONE]\n\n`;
    } else if (path === '/v1/messages') {
      ctype = 'text/event-stream';
      out = `event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: tin, output_tokens: 1 } } })}\n\n` +
        `event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', usage: { output_tokens: tout } })}\n\n`;
    } else {
      stream.respond({ ':status': 404 });
      stream.end();
      return;
    }
    stream.respond({ ':status': 200, 'content-type': ctype });
    stream.end(out);
    fs.appendFileSync(log, JSON.stringify({ path, key: keyOf(headers), input_tokens: tin, output_tokens: tout }) + '\n');
  });
});
server.listen(Number(port), addr, () => fs.writeFileSync(ready, String(process.pid)));
