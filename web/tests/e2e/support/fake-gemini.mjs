// A fake Gemini API on 127.0.0.1 for the end-to-end tests: POST
// /v1beta/models/{model}:streamGenerateContent?alt=sse answered with real SSE frames
// (GenerateContentResponse JSON), paced like a model. What it says depends on the last user
// text: "quick" gives one chunk at once, "long" a reply of 12 s (to stop it), "medium" one of 3 s (to reload during it),
// "fail" a 500 before streaming, "hostile" a reply full of HTML
// and script, anything else a short Markdown concept with a code block.
import { createServer } from 'node:http';

export const API_KEY = 'e2e-fake-gemini-key';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function script(text, take) {
  if (/\blong\b/i.test(text)) {
    const words = [];
    for (let i = 0; i < 400; i++) words.push(`stroke${i} `);
    return { chunks: words, delayMs: 30 };
  }
  if (/\bquick\b/i.test(text)) return { chunks: ['Noted.'], delayMs: 0 };
  if (/\bmedium\b/i.test(text)) {
    const words = [];
    for (let i = 0; i < 60; i++) words.push(`tone${i} `);
    return { chunks: words, delayMs: 50 };
  }
  if (/\bhostile\b/i.test(text)) {
    return {
      chunks: [
        'Here is <img src=x id="xss-img" onerror="window.__xss=1"> an image tag, ',
        '<script>window.__xss=2</script> a script, ',
        'and [a link](javascript:window.__xss=3) — all shown as text.',
      ],
      delayMs: 40,
    };
  }
  return {
    chunks: [
      '## Concept: ', '*Neon Koi*\n\n', 'A **luminous** koi ', 'drifting through ', 'a flooded ',
      'night market, ', 'lanterns ', 'reflected ', 'in rippling ', 'water.\n\n', 'Prompt:\n\n',
      '```text\n', 'neon koi, flooded night market, ', 'volumetric light, ', 'cinematic\n', '```\n',
      `\n(take ${take})`,
    ],
    delayMs: 90,
  };
}

function lastUserText(body) {
  const contents = Array.isArray(body?.contents) ? body.contents : [];
  for (let i = contents.length - 1; i >= 0; i--) {
    if (contents[i]?.role !== 'user') continue;
    return (contents[i].parts ?? []).filter((p) => typeof p.text === 'string').map((p) => p.text).join(' ');
  }
  return '';
}

export async function startFakeGemini() {
  const requests = [];
  const server = createServer(async (req, res) => {
    const match = /^\/v1beta\/models\/[^/:]+:streamGenerateContent\?alt=sse$/.exec(req.url ?? '');
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || !match) return json(404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } });
    if (req.headers['x-goog-api-key'] !== API_KEY) {
      return json(400, { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } });
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return json(400, { error: { code: 400, message: 'bad JSON', status: 'INVALID_ARGUMENT' } });
    }
    requests.push(body);
    const userText = lastUserText(body);
    if (/\bfail\b/i.test(userText)) {
      return json(500, { error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' } });
    }
    const s = script(userText, requests.length);
    req.socket.setNoDelay(true);
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    let closed = false;
    res.on('close', () => (closed = true));
    const prompt = 50;
    for (let i = 0; i < s.chunks.length && !closed; i++) {
      await sleep(s.delayMs);
      const last = i + 1 === s.chunks.length;
      const candidate = { content: { parts: [{ text: s.chunks[i] }], role: 'model' }, index: 0 };
      if (last) candidate.finishReason = 'STOP';
      const frame = {
        candidates: [candidate],
        usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: last ? s.chunks.length : 0, totalTokenCount: prompt + (last ? s.chunks.length : 0) },
        modelVersion: 'e2e-fake',
      };
      res.write(`data: ${JSON.stringify(frame)}\r\n\r\n`);
    }
    res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    requests,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
}
