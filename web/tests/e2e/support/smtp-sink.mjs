// A real (minimal) SMTP server on 127.0.0.1 that keeps the messages it receives, so that the
// tests can read the e-mailed codes.
import { createServer } from 'node:net';

export async function startSmtpSink() {
  const mails = [];
  const waiters = new Set();
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let data = '';
    let to = [];
    const say = (line) => socket.write(`${line}\r\n`);
    say('220 e2e-sink ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) break;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            mails.push({ to, data });
            for (const w of waiters) w();
            to = [];
            data = '';
            say('250 OK: queued');
          } else {
            data += (line.startsWith('..') ? line.slice(1) : line) + '\r\n';
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') say('250-e2e-sink\r\n250 8BITMIME');
        else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') say('250 OK');
        else if (verb === 'RCPT') {
          const m = /<([^>]*)>/.exec(line);
          if (m) to.push(m[1].toLowerCase());
          say('250 OK');
        } else if (verb === 'DATA') {
          inData = true;
          say('354 End data with <CR><LF>.<CR><LF>');
        } else if (verb === 'QUIT') {
          say('221 Bye');
          socket.end();
        } else say('502 Command not implemented');
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;

  // The 6-digit code of the n-th (0-based) message to `email`, waiting up to 10 s.
  async function code(email, n) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const mine = mails.filter((m) => m.to.includes(email.toLowerCase()));
      if (mine.length > n) {
        const body = mine[n].data.slice(mine[n].data.indexOf('\r\n\r\n'));
        const m = /(?:^|[^0-9])([0-9]{6})(?:[^0-9]|$)/.exec(body);
        if (!m) throw new Error(`no code in the e-mail to ${email}`);
        return m[1];
      }
      if (Date.now() > deadline) throw new Error(`no e-mail to ${email} within 10 s`);
      await new Promise((resolve) => {
        const w = () => (waiters.delete(w), resolve());
        waiters.add(w);
        setTimeout(w, 200);
      });
    }
  }
  return {
    url: `smtp://127.0.0.1:${port}`,
    count: (email) => mails.filter((m) => m.to.includes(email.toLowerCase())).length,
    code,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
