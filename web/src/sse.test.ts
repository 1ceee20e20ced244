import { describe, expect, it } from 'vitest';
import { readEvents, SseParser, type SseEvent } from './sse';

const all = (chunks: string[]): SseEvent[] => {
  const p = new SseParser();
  return chunks.flatMap((c) => p.push(c));
};

describe('SseParser', () => {
  it('reads the events of a message stream in order', () => {
    const stream =
      'event: start\ndata: {"assistant_message_id":"a"}\n\n' +
      'id: a:1\ndata: {"text":"Hel"}\n\n' +
      ': keep-alive\n\n' +
      'id: a:2\ndata: {"text":"lo"}\n\n' +
      'event: done\ndata: {"message":null}\n\n';
    expect(all([stream])).toEqual([
      { event: 'start', data: '{"assistant_message_id":"a"}', id: null },
      { event: 'message', data: '{"text":"Hel"}', id: 'a:1' },
      { event: 'message', data: '{"text":"lo"}', id: 'a:2' },
      { event: 'done', data: '{"message":null}', id: 'a:2' },
    ]);
  });

  it('gives the same events however the bytes are split, with any line ending', () => {
    const text = 'event: start\r\ndata: one\r\n\r\ndata: two\rdata: lines\r\rdata: {"text":"é"}\n\n';
    const whole = all([text]);
    expect(whole.map((e) => e.data)).toEqual(['one', 'two\nlines', '{"text":"é"}']);
    for (let i = 1; i < text.length; i++) expect(all([text.slice(0, i), text.slice(i)])).toEqual(whole);
    expect(all([...text])).toEqual(whole);
  });

  it('ignores comments, unknown fields and a field without a colon', () => {
    expect(all([':c\nretry: 5\nfoo\ndata\ndata:x\n\n'])).toEqual([{ event: 'message', data: '\nx', id: null }]);
  });

  it('keeps one leading space of a value, not more', () => {
    expect(all(['data:  two spaces\n\n'])[0]!.data).toBe(' two spaces');
  });

  it('drops an event cut off before its blank line', async () => {
    const bytes = new TextEncoder().encode('data: complete\n\ndata: cut');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        // A multi-byte character split across reads decodes whole.
        c.enqueue(bytes.slice(0, 3));
        c.enqueue(bytes.slice(3));
        c.close();
      },
    });
    const got: SseEvent[] = [];
    for await (const e of readEvents(body)) got.push(e);
    expect(got.map((e) => e.data)).toEqual(['complete']);
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = new TextEncoder().encode('data: {"text":"🎨 é"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const got: SseEvent[] = [];
    for await (const e of readEvents(body)) got.push(e);
    expect(JSON.parse(got[0]!.data)).toEqual({ text: '🎨 é' });
  });
});
