// Self-check for the Socket.IO baseline. Starts nothing: point BASE_URL at a running server
// (default http://127.0.0.1:3100). Note that it resets the server's database.
//
// Covers the REST bench endpoints, two socket.io-client clients, and one raw WebSocket client
// speaking Engine.IO v4 / Socket.IO v4 framing by hand, the way the Rust load driver does.

import process from 'node:process';
import { io as ioClient } from 'socket.io-client';
import WebSocket from 'ws';

const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:3100').replace(/\/+$/, '');
const WS_URL = `${BASE_URL.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
const TIMEOUT_MS = 5000;
const TIMED_SENDS = 200;

let passed = 0;
let failed = 0;

function check(name, ok, detail = '') {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

async function step(name, fn) {
  try {
    await fn();
  } catch (err) {
    check(name, false, err && err.stack ? err.stack : String(err));
  }
}

async function http(method, path, { body, token, raw } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    body: raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
  }
  return { status: res.status, json };
}

function withTimeout(promise, what, ms = TIMEOUT_MS) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Resolves with the first `event` payload that matches `pred`.
function nextEvent(socket, event, pred = () => true, ms = TIMEOUT_MS) {
  return withTimeout(
    new Promise((resolve) => {
      const handler = (payload) => {
        if (pred(payload)) {
          socket.off(event, handler);
          resolve(payload);
        }
      };
      socket.on(event, handler);
    }),
    `${event} on socket.io client`,
    ms,
  );
}

function connectClient(token, transports) {
  const socket = ioClient(BASE_URL, {
    path: '/socket.io',
    auth: { token },
    transports,
    reconnection: false,
    forceNew: true,
  });
  const established = nextEvent(socket, 'connection:established');
  const failedConnect = new Promise((_, reject) => socket.once('connect_error', (e) => reject(e)));
  return { socket, ready: Promise.race([established, failedConnect]) };
}

// A raw Engine.IO v4 / Socket.IO v4 client over a plain WebSocket.
class RawClient {
  constructor(url) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.frames = []; // text frames received and not yet consumed by next()
    this.log = []; // every frame received, in order
    this.waiters = [];
    this.pings = 0;
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${data.length}>` : data.toString('utf8');
      if (text === '2') {
        // Engine.IO ping from the server: answer with a pong.
        this.pings += 1;
        this.ws.send('3');
      }
      this.log.push(text);
      this.frames.push(text);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(text)) {
          w.resolve(text);
          return false;
        }
        return true;
      });
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }

  // Next frame (already received but not yet consumed by a waiter, or future) matching pred.
  next(pred, what, ms = TIMEOUT_MS) {
    const idx = this.frames.findIndex((f) => pred(f));
    if (idx >= 0) return Promise.resolve(this.frames.splice(idx, 1)[0]);
    return withTimeout(
      new Promise((resolve) => this.waiters.push({ pred, resolve: (f) => { this.frames.splice(this.frames.indexOf(f), 1); resolve(f); } })),
      `raw frame: ${what}`,
      ms,
    );
  }

  nextEvent(name, pred = () => true, ms) {
    return this.next(
      (f) => {
        if (!f.startsWith('42')) return false;
        const [ev, payload] = JSON.parse(f.slice(2));
        return ev === name && pred(payload);
      },
      `42["${name}",...]`,
      ms,
    ).then((f) => JSON.parse(f.slice(2))[1]);
  }

  emit(name, payload) {
    this.ws.send(`42${JSON.stringify([name, payload])}`);
  }

  emitWithAck(id, name, payload) {
    this.ws.send(`42${id}${JSON.stringify([name, payload])}`);
    return this.next((f) => f.startsWith(`43${id}[`), `43${id}[...]`).then((f) => JSON.parse(f.slice(2 + String(id).length))[0]);
  }

  close() {
    this.ws.close();
  }
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  console.log(`smoke test against ${BASE_URL}`);
  const cleanup = [];
  let users;
  let directId;
  let groupId;
  let liveMessage;

  await step('healthz', async () => {
    const r = await http('GET', '/healthz');
    check('GET /healthz -> 200 {"ok":true}', r.status === 200 && r.json && r.json.ok === true, JSON.stringify(r));
  });

  await step('setup', async () => {
    let r = await http('POST', '/api/bench/reset');
    check('POST /api/bench/reset -> 204', r.status === 204, `status ${r.status}`);

    r = await http('POST', '/api/bench/users', { body: { count: 3 } });
    users = r.json && r.json.users;
    check(
      'POST /api/bench/users -> 3 users with numeric ids and JWTs',
      r.status === 200 &&
        Array.isArray(users) &&
        users.length === 3 &&
        users.every((u) => Number.isInteger(u.id) && typeof u.token === 'string' && u.token.split('.').length === 3) &&
        new Set(users.map((u) => u.id)).size === 3,
      JSON.stringify(r),
    );
    const claims = JSON.parse(Buffer.from(users[0].token.split('.')[1], 'base64url').toString());
    check(
      'token claims: sub is the id as a string, expires in about a day',
      claims.sub === String(users[0].id) && Math.abs(claims.exp - claims.iat - 86400) <= 1,
      JSON.stringify(claims),
    );

    const ids = users.map((u) => u.id);
    r = await http('POST', '/api/bench/conversations', { body: { kind: 'direct', user_ids: [ids[0], ids[1]] } });
    directId = r.json && r.json.id;
    check('POST /api/bench/conversations (direct) -> id', r.status === 200 && Number.isInteger(directId), JSON.stringify(r));

    r = await http('POST', '/api/bench/conversations', { body: { kind: 'group', user_ids: ids, title: 'Smoke group' } });
    groupId = r.json && r.json.id;
    check('POST /api/bench/conversations (group) -> id', r.status === 200 && Number.isInteger(groupId), JSON.stringify(r));

    r = await http('POST', '/api/bench/messages', { body: { conversation_id: groupId, count: 120 } });
    check('POST /api/bench/messages (120) -> 204', r.status === 204, JSON.stringify(r));

    r = await http('POST', '/api/bench/users', { raw: '{"count": 3' });
    check('bad JSON -> 400', r.status === 400 && r.json.error && r.json.error.code === 'invalid_json', JSON.stringify(r));
    r = await http('POST', '/api/bench/users', { body: { count: 20001 } });
    check('count > 20000 -> 400', r.status === 400, JSON.stringify(r));
    r = await http('GET', '/api/nothing-here');
    check('unknown route -> 404 not_found', r.status === 404 && r.json.error && r.json.error.code === 'not_found', JSON.stringify(r));
  });
  if (!users || !groupId || !directId) return finish(cleanup);

  const [u0, u1, u2] = users;

  // --- socket.io-client clients: A over websocket only, B with the default polling -> upgrade.
  const A = connectClient(u0.token, ['websocket']);
  const B = connectClient(u1.token, ['polling', 'websocket']);
  cleanup.push(() => A.socket.close(), () => B.socket.close());
  await step('socket.io clients connect', async () => {
    const [ea, eb] = await withTimeout(Promise.all([A.ready, B.ready]), 'connection:established');
    check('client A gets connection:established with its user_id', ea && ea.user_id === u0.id, JSON.stringify(ea));
    check('client B (polling first) gets connection:established', eb && eb.user_id === u1.id, JSON.stringify(eb));
  });

  // --- raw WebSocket client, framing by hand.
  const raw = new RawClient(WS_URL);
  cleanup.push(() => raw.close());
  await step('raw websocket handshake', async () => {
    await withTimeout(raw.opened, 'websocket open');
    const open = await raw.next((f) => f.startsWith('0'), 'engine.io open packet');
    const o = JSON.parse(open.slice(1));
    check(
      'raw: first frame is the Engine.IO open packet 0{sid,upgrades:[],pingInterval,pingTimeout,maxPayload}',
      typeof o.sid === 'string' &&
        Array.isArray(o.upgrades) &&
        o.upgrades.length === 0 &&
        Number.isInteger(o.pingInterval) &&
        Number.isInteger(o.pingTimeout) &&
        Number.isInteger(o.maxPayload),
      open,
    );
    console.log(`     open packet: ${open}`);
    raw.ws.send(`40${JSON.stringify({ token: u2.token })}`);
    const connect = await raw.next((f) => f.startsWith('40') || f.startsWith('44'), 'socket.io CONNECT reply');
    check('raw: 40{"token"} is answered with 40{"sid":...}', connect.startsWith('40{') && typeof JSON.parse(connect.slice(2)).sid === 'string', connect);
    const est = await raw.next((f) => f.startsWith('42'), 'first event');
    check(
      'raw: the frame right after 40{...} is 42["connection:established",{"user_id":...}]',
      raw.log[raw.log.indexOf(connect) + 1] === est && JSON.stringify(JSON.parse(est.slice(2))) === JSON.stringify(['connection:established', { user_id: u2.id }]),
      est,
    );
  });

  await step('joins', async () => {
    const [ja, jb] = await Promise.all([
      withTimeout(A.socket.emitWithAck('conversation:join', { conversation_id: groupId }), 'join ack A'),
      withTimeout(B.socket.emitWithAck('conversation:join', { conversation_id: groupId }), 'join ack B'),
    ]);
    check('A and B join the group (ack ok)', ja && ja.ok === true && jb && jb.ok === true, JSON.stringify([ja, jb]));
    await withTimeout(B.socket.emitWithAck('conversation:join', { conversation_id: directId }), 'join ack B direct');

    const rj = await raw.emitWithAck(1, 'conversation:join', { conversation_id: groupId });
    check('raw: 421["conversation:join",...] is answered 431[{"ok":true,...}]', rj && rj.ok === true, JSON.stringify(rj));

    // Not a member of the direct conversation: an error event, no join.
    raw.emit('conversation:join', { conversation_id: directId });
    const err = await raw.nextEvent('error');
    check('raw: joining a conversation it is not in -> error {code:"not_found"}', err && err.code === 'not_found', JSON.stringify(err));
  });

  await step('message:send fan-out', async () => {
    const clientId = `smoke-${Date.now()}`;
    const gotB = nextEvent(B.socket, 'message:new', (p) => p.message && p.message.client_id === clientId);
    const gotA = nextEvent(A.socket, 'message:new', (p) => p.message && p.message.client_id === clientId);
    const ack = nextEvent(A.socket, 'message:ack', (p) => p.client_id === clientId);
    const gotRaw = raw.nextEvent('message:new', (p) => p.message && p.message.client_id === clientId);
    A.socket.emit('message:send', { conversation_id: groupId, client_id: clientId, body: '  hello from smoke  ' });
    const [b, a, k, r] = await Promise.all([gotB, gotA, ack, gotRaw]);
    liveMessage = k.message;
    const m = k.message;
    check(
      'sender gets message:ack {client_id, message} with the full message shape',
      m &&
        Number.isInteger(m.id) &&
        m.conversation_id === groupId &&
        m.sender_id === u0.id &&
        m.client_id === clientId &&
        m.body === 'hello from smoke' &&
        !Number.isNaN(Date.parse(m.created_at)) &&
        m.created_at.endsWith('Z') &&
        m.edited_at === null &&
        m.deleted === false,
      JSON.stringify(k),
    );
    check('client B receives message:new with the same id', b.message.id === m.id, JSON.stringify(b));
    check('raw client receives message:new with the same id', r.message.id === m.id, JSON.stringify(r));
    check('sender (in the room) also receives message:new', a.message.id === m.id, JSON.stringify(a));
  });

  await step('message:send from the raw client', async () => {
    const clientId = `raw-${Date.now()}`;
    const gotA = nextEvent(A.socket, 'message:new', (p) => p.message && p.message.client_id === clientId);
    raw.emit('message:send', { conversation_id: groupId, client_id: clientId, body: 'raw hello' });
    const [ack, a] = await Promise.all([raw.nextEvent('message:ack', (p) => p.client_id === clientId), gotA]);
    check('raw 42["message:send",...] -> 42["message:ack",...] and A gets message:new', ack.message.id === a.message.id && ack.message.sender_id === u2.id, JSON.stringify([ack, a]));
    liveMessage = ack.message;
  });

  await step('invalid message:send', async () => {
    const err = nextEvent(A.socket, 'error', (p) => p.client_id === 'bad-1');
    A.socket.emit('message:send', { conversation_id: groupId, client_id: 'bad-1', body: '   ' });
    const e = await err;
    check('blank body -> error {code:"invalid_input", client_id}', e.code === 'invalid_input' && e.client_id === 'bad-1', JSON.stringify(e));
    const err2 = raw.nextEvent('error', (p) => p.client_id === 'bad-2');
    raw.emit('message:send', { conversation_id: groupId, client_id: 'bad-2', body: 'x'.repeat(4001) });
    const e2 = await err2;
    check('4001-char body -> error invalid_input', e2.code === 'invalid_input', JSON.stringify(e2));
    const err3 = raw.nextEvent('error', (p) => p.client_id === 'bad-3');
    raw.emit('message:send', { conversation_id: directId, client_id: 'bad-3', body: 'not mine' });
    const e3 = await err3;
    check('send to a conversation the user is not in -> error not_found', e3.code === 'not_found', JSON.stringify(e3));
  });

  await step('typing', async () => {
    const atA = nextEvent(A.socket, 'typing:start');
    const atRaw = raw.nextEvent('typing:start');
    let echoed = false;
    const echo = () => {
      echoed = true;
    };
    B.socket.on('typing:start', echo);
    B.socket.emit('typing:start', { conversation_id: groupId });
    const [a, r] = await Promise.all([atA, atRaw]);
    check(
      'typing:start reaches the others with {conversation_id, user_id}',
      a.conversation_id === groupId && a.user_id === u1.id && r.user_id === u1.id,
      JSON.stringify([a, r]),
    );
    await new Promise((res) => setTimeout(res, 100));
    B.socket.off('typing:start', echo);
    check('typing:start is not echoed to its sender', !echoed);
  });

  await step('REST lists', async () => {
    let r = await http('GET', '/api/conversations', { token: u1.token });
    const convs = r.json && r.json.conversations;
    check('GET /api/conversations -> 200 with both conversations', r.status === 200 && Array.isArray(convs) && convs.length === 2, JSON.stringify(r).slice(0, 500));
    if (Array.isArray(convs) && convs.length === 2) {
      const [g, d] = convs;
      check('most recent first (group, which has messages, before direct)', g.id === groupId && d.id === directId, `${g.id}, ${d.id}`);
      // 120 seeded messages rotate over 3 senders: 80 are not u1's; plus 2 live ones not from u1.
      check('group unread_count for u1 is 82', g.unread_count === 82, String(g.unread_count));
      check('group last_message is the latest live message', g.last_message && g.last_message.id === liveMessage.id, JSON.stringify(g.last_message));
      check(
        'group participants carry user{id,username,display_name}, role, last_read_message_id',
        g.participants.length === 3 &&
          g.participants.every((p) => p.user && typeof p.user.username === 'string' && typeof p.role === 'string' && Number.isInteger(p.last_read_message_id)) &&
          g.participants.find((p) => p.user.id === u0.id).role === 'owner',
        JSON.stringify(g.participants),
      );
      check('group title, kind and updated_at', g.title === 'Smoke group' && g.kind === 'group' && !Number.isNaN(Date.parse(g.updated_at)), JSON.stringify(g));
      check('direct: no last_message, unread 0', d.last_message === null && d.unread_count === 0 && d.kind === 'direct', JSON.stringify(d));
    }
    r = await http('GET', '/api/conversations', { token: u2.token });
    const sender = r.json.conversations.find((c) => c.id === groupId);
    check('the latest sender has unread_count 0 (send updates its last_read)', r.json.conversations.length === 1 && sender.unread_count === 0, JSON.stringify(sender));

    r = await http('GET', '/api/conversations');
    check('GET /api/conversations without a token -> 401', r.status === 401, JSON.stringify(r));
    r = await http('GET', '/api/conversations', { token: `${u1.token}x` });
    check('GET /api/conversations with a bad token -> 401', r.status === 401, JSON.stringify(r));

    // 120 seeded + 2 live = 122 messages: pages of 50, 50, 22.
    const seen = [];
    let before = null;
    const pages = [];
    for (let i = 0; i < 4; i++) {
      r = await http('GET', `/api/conversations/${groupId}/messages?limit=50${before ? `&before=${before}` : ''}`, { token: u1.token });
      if (r.status !== 200) break;
      pages.push(r.json);
      seen.unshift(...r.json.messages.map((m) => m.id));
      if (!r.json.has_more) break;
      before = r.json.messages[0].id;
    }
    check(
      'GET messages pages 50/50/22, has_more true,true,false',
      JSON.stringify(pages.map((p) => [p.messages.length, p.has_more])) === JSON.stringify([[50, true], [50, true], [22, false]]),
      JSON.stringify(pages.map((p) => [p.messages.length, p.has_more])),
    );
    check(
      'pages are oldest first, contiguous, and end with the live message',
      seen.length === 122 && seen.every((id, i) => i === 0 || id > seen[i - 1]) && seen[121] === liveMessage.id,
    );
    r = await http('GET', `/api/conversations/${groupId}/messages`, { token: u1.token });
    check('default limit is 50', r.status === 200 && r.json.messages.length === 50 && r.json.has_more === true);
    r = await http('GET', `/api/conversations/${directId}/messages`, { token: u2.token });
    check('GET messages of a conversation the caller is not in -> 403', r.status === 403, JSON.stringify(r));
  });

  await step('message:read', async () => {
    const atA = nextEvent(A.socket, 'message:read', (p) => p.user_id === u1.id);
    B.socket.emit('message:read', { conversation_id: groupId, message_id: liveMessage.id });
    const p = await atA;
    check('message:read is broadcast to the room', p.conversation_id === groupId && p.message_id === liveMessage.id, JSON.stringify(p));
    const r = await http('GET', '/api/conversations', { token: u1.token });
    const g = r.json.conversations.find((c) => c.id === groupId);
    check('after message:read, u1 has unread_count 0', g.unread_count === 0, JSON.stringify(g));
  });

  await step('bad tokens are refused', async () => {
    const bad = connectClient(`${u0.token.slice(0, -2)}xx`, ['websocket']);
    cleanup.push(() => bad.socket.close());
    let err = null;
    try {
      await withTimeout(bad.ready, 'connect_error');
    } catch (e) {
      err = e;
    }
    check('socket.io-client with a bad token gets connect_error "unauthenticated"', err && err.message === 'unauthenticated', String(err));

    const rawBad = new RawClient(WS_URL);
    cleanup.push(() => rawBad.close());
    await withTimeout(rawBad.opened, 'websocket open');
    await rawBad.next((f) => f.startsWith('0'), 'open packet');
    rawBad.ws.send('40{"token":"not-a-jwt"}');
    const f = await rawBad.next((x) => x.startsWith('4'), 'CONNECT_ERROR');
    check('raw: bad token -> 44{"message":"unauthenticated"}', f === '44{"message":"unauthenticated"}', f);
    const rawNone = new RawClient(WS_URL);
    cleanup.push(() => rawNone.close());
    await withTimeout(rawNone.opened, 'websocket open');
    await rawNone.next((x) => x.startsWith('0'), 'open packet');
    rawNone.ws.send('40');
    const f2 = await rawNone.next((x) => x.startsWith('4'), 'CONNECT_ERROR');
    check('raw: no token -> 44{"message":"unauthenticated"}', f2 === '44{"message":"unauthenticated"}', f2);
  });

  await step('timed sends', async () => {
    // 200 sequential sends by A; time from emit to B's message:new.
    const times = [];
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < TIMED_SENDS; i++) {
      const clientId = `t-${i}`;
      const got = nextEvent(B.socket, 'message:new', (p) => p.message.client_id === clientId);
      const start = process.hrtime.bigint();
      A.socket.emit('message:send', { conversation_id: groupId, client_id: clientId, body: `timed message ${i}` });
      await got;
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    const sorted = [...times].sort((a, b) => a - b);
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    console.log(
      `     ${TIMED_SENDS} sequential message:send -> message:new: total ${total.toFixed(0)} ms, mean ${mean.toFixed(2)} ms, ` +
        `p50 ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, ` +
        `p99 ${percentile(sorted, 99).toFixed(2)} ms, max ${sorted[sorted.length - 1].toFixed(2)} ms`,
    );
    check(`${TIMED_SENDS} sequential sends all delivered`, times.length === TIMED_SENDS);
  });

  await step('conversation:leave', async () => {
    const left = await raw.emitWithAck(2, 'conversation:leave', { conversation_id: groupId });
    check('raw: conversation:leave acked', left && left.ok === true, JSON.stringify(left));
    let leaked = false;
    const probe = raw.nextEvent('message:new', (p) => p.message.client_id === 'after-leave', 400).then(
      () => {
        leaked = true;
      },
      () => {},
    );
    const atB = nextEvent(B.socket, 'message:new', (p) => p.message.client_id === 'after-leave');
    A.socket.emit('message:send', { conversation_id: groupId, client_id: 'after-leave', body: 'after leave' });
    await atB;
    await probe;
    check('after leaving, the raw client no longer gets message:new', !leaked);
  });

  return finish(cleanup);
}

function finish(cleanup) {
  for (const fn of cleanup) {
    try {
      fn();
    } catch {
      // ignore
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  check('smoke test ran to the end', false, err && err.stack ? err.stack : String(err));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(1);
});
