// Confab benchmark baseline: the Node + Socket.IO + MySQL chat design that Confab replaces.
//
// Built on purpose the way that system was built (see README.md): JWT auth middleware on socket
// connect, one Socket.IO room per conversation, "insert then broadcast" with each DB step its own
// autocommit pool query, a mysql2 pool of 20 connections, InnoDB with default durable commits,
// and an N+1 conversation list. No artificial slowness: everything here is a straightforward,
// reasonable implementation of that design.
//
// Everything except the single "listening ..." line goes to stderr, so a driver can read stdout.

import { createSecretKey } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import jwt from 'jsonwebtoken';
import mysql from 'mysql2/promise';
import { Server } from 'socket.io';

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

function fail(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(1);
}

const JWT_SECRET = process.env.JWT_SECRET;
if (!JWT_SECRET) fail('JWT_SECRET is required (at least 32 characters); there is no fallback secret');
if (JWT_SECRET.length < 32) fail('JWT_SECRET must be at least 32 characters long');

// The secret as a KeyObject, made once. Handed a string, jsonwebtoken 9 first tries (and fails)
// to parse it as a PEM private/public key on every sign and verify, then converts it: about
// 0.4 ms of CPU per call on this machine against about 0.01 ms with a KeyObject. Passing the
// KeyObject keeps the baseline from paying for that library quirk on every socket connect.
const JWT_KEY = createSecretKey(Buffer.from(JWT_SECRET, 'utf8'));

const PORT = process.env.PORT === undefined || process.env.PORT === '' ? 3100 : Number(process.env.PORT);
if (!Number.isInteger(PORT) || PORT < 0 || PORT > 65535) fail(`invalid PORT: ${process.env.PORT}`);
const HOST = process.env.HOST || '127.0.0.1';

const MYSQL_PORT = Number(process.env.MYSQL_PORT || 3306);
if (!Number.isInteger(MYSQL_PORT) || MYSQL_PORT <= 0 || MYSQL_PORT > 65535) fail(`invalid MYSQL_PORT: ${process.env.MYSQL_PORT}`);
const DB = {
  host: process.env.MYSQL_HOST || '127.0.0.1',
  port: MYSQL_PORT,
  user: process.env.MYSQL_USER || 'root',
  password: process.env.MYSQL_PASSWORD || '',
  database: process.env.MYSQL_DATABASE || 'confab_baseline',
};
if (!/^[A-Za-z0-9_]{1,64}$/.test(DB.database)) fail(`invalid MYSQL_DATABASE: ${DB.database}`);

const POOL_SIZE = 20; // what the old system configured
const TOKEN_TTL = '1d';
const MAX_BODY_CHARS = 4000;
const MAX_BENCH_USERS = 20000;
const MAX_SEED_MESSAGES = 100000;
const INSERT_BATCH = 1000;
const MAX_REQUEST_BYTES = 1 << 20;

const log = (...args) => process.stderr.write(`${args.join(' ')}\n`);

// ---------------------------------------------------------------------------------------------
// Database
// ---------------------------------------------------------------------------------------------

// All timestamps are written with UTC_TIMESTAMP(3) and read back as UTC (timezone 'Z').
const poolOptions = {
  host: DB.host,
  port: DB.port,
  user: DB.user,
  password: DB.password,
  charset: 'UTF8MB4_UNICODE_CI',
  timezone: 'Z',
};

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS users (
     id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
     username VARCHAR(64) NOT NULL,
     display_name VARCHAR(64) NOT NULL,
     created_at DATETIME(3) NOT NULL,
     UNIQUE KEY uq_users_username (username)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE IF NOT EXISTS conversations (
     id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
     kind ENUM('direct','group','post_linked') NOT NULL,
     title VARCHAR(100) NULL,
     created_at DATETIME(3) NOT NULL,
     updated_at DATETIME(3) NOT NULL,
     KEY idx_conversations_updated_at (updated_at)
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE IF NOT EXISTS conversation_participants (
     conversation_id BIGINT NOT NULL,
     user_id BIGINT NOT NULL,
     role ENUM('owner','admin','member') NOT NULL DEFAULT 'member',
     last_read_message_id BIGINT NOT NULL DEFAULT 0,
     joined_at DATETIME(3) NOT NULL,
     PRIMARY KEY (conversation_id, user_id),
     KEY idx_participants_user (user_id),
     CONSTRAINT fk_participants_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
     CONSTRAINT fk_participants_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
  `CREATE TABLE IF NOT EXISTS messages (
     id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
     conversation_id BIGINT NOT NULL,
     sender_id BIGINT NOT NULL,
     client_id VARCHAR(100) NULL,
     body TEXT NOT NULL,
     created_at DATETIME(3) NOT NULL,
     edited_at DATETIME(3) NULL,
     deleted TINYINT NOT NULL DEFAULT 0,
     KEY idx_messages_conversation_id (conversation_id, id),
     CONSTRAINT fk_messages_conversation FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE,
     CONSTRAINT fk_messages_sender FOREIGN KEY (sender_id) REFERENCES users (id) ON DELETE CASCADE
   ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`,
];

// Children first, so the order is FK-safe (checks are also switched off for the TRUNCATEs,
// since InnoDB refuses to TRUNCATE a table that a foreign key references).
const TABLES_CHILD_FIRST = ['messages', 'conversation_participants', 'conversations', 'users'];

async function initDatabase() {
  const admin = await mysql.createConnection(poolOptions);
  try {
    await admin.query(
      `CREATE DATABASE IF NOT EXISTS \`${DB.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await admin.end();
  }
  const pool = mysql.createPool({
    ...poolOptions,
    database: DB.database,
    connectionLimit: POOL_SIZE,
    waitForConnections: true,
    queueLimit: 0,
  });
  for (const stmt of SCHEMA) await pool.query(stmt);
  return pool;
}

function iso(d) {
  return d == null ? null : new Date(d).toISOString();
}

function messageJson(row) {
  return {
    id: row.id,
    conversation_id: row.conversation_id,
    sender_id: row.sender_id,
    client_id: row.client_id,
    body: row.body,
    created_at: iso(row.created_at),
    edited_at: iso(row.edited_at),
    deleted: Boolean(row.deleted),
  };
}

const MESSAGE_COLUMNS = 'id, conversation_id, sender_id, client_id, body, created_at, edited_at, deleted';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function sendNoContent(res) {
  res.writeHead(204);
  res.end();
}

function sendError(res, status, code, message) {
  sendJson(res, status, { error: { code, message } });
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) return reject(new HttpError(413, 'payload_too_large', 'request body too large'));
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'invalid_json', 'request body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function positiveInt(v) {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function verifyToken(token) {
  if (typeof token !== 'string' || token === '') return null;
  try {
    const claims = jwt.verify(token, JWT_KEY, { algorithms: ['HS256'] });
    return positiveInt(claims.sub);
  } catch {
    return null;
  }
}

function requireUser(req) {
  const header = req.headers.authorization || '';
  const m = /^Bearer\s+(.+)$/i.exec(header);
  const userId = m ? verifyToken(m[1].trim()) : null;
  if (!userId) throw new HttpError(401, 'unauthenticated', 'missing or invalid bearer token');
  return userId;
}

function charCount(s) {
  // Code points, not UTF-16 units; the fast path avoids the walk for ordinary lengths.
  if (s.length <= MAX_BODY_CHARS) return s.length;
  let n = 0;
  for (const _ of s) n += 1;
  return n;
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

function makeRest(pool) {
  async function benchReset() {
    const conn = await pool.getConnection();
    try {
      await conn.query('SET FOREIGN_KEY_CHECKS = 0');
      for (const t of TABLES_CHILD_FIRST) await conn.query(`TRUNCATE TABLE \`${t}\``);
    } finally {
      try {
        await conn.query('SET FOREIGN_KEY_CHECKS = 1');
      } finally {
        conn.release();
      }
    }
  }

  let userBatchSeq = 0;
  async function benchUsers(body) {
    const count = isObject(body) ? body.count : undefined;
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BENCH_USERS) {
      throw new HttpError(400, 'invalid_input', `count must be an integer in 1..${MAX_BENCH_USERS}`);
    }
    // A per-request prefix keeps usernames unique across calls without a reset.
    const prefix = `b${Date.now().toString(36)}${process.pid.toString(36)}${(userBatchSeq++).toString(36)}`;
    const users = [];
    for (let start = 0; start < count; start += INSERT_BATCH) {
      const end = Math.min(count, start + INSERT_BATCH);
      const rows = [];
      for (let i = start; i < end; i++) rows.push([`${prefix}_${i}`, `Bench User ${i}`]);
      const placeholders = rows.map(() => '(?, ?, UTC_TIMESTAMP(3))').join(', ');
      const [result] = await pool.query(
        `INSERT INTO users (username, display_name, created_at) VALUES ${placeholders}`,
        rows.flat(),
      );
      // A multi-row INSERT gets consecutive ids under innodb_autoinc_lock_mode 0/1 (the
      // default); read them back instead so this also holds under mode 2.
      const [idRows] = await pool.query(
        'SELECT id, username FROM users WHERE id >= ? AND username LIKE ? ORDER BY id',
        [result.insertId, `${prefix}\\_%`],
      );
      const byName = new Map(idRows.map((r) => [r.username, r.id]));
      for (const [username] of rows) {
        const id = byName.get(username);
        if (id === undefined) throw new Error(`inserted user ${username} not found`);
        users.push({ id, token: jwt.sign({ sub: String(id) }, JWT_KEY, { algorithm: 'HS256', expiresIn: TOKEN_TTL }) });
      }
    }
    return { users };
  }

  async function benchConversation(body) {
    if (!isObject(body)) throw new HttpError(400, 'invalid_input', 'expected a JSON object');
    const { kind, user_ids: rawIds, title } = body;
    if (kind !== 'direct' && kind !== 'group') throw new HttpError(400, 'invalid_input', "kind must be 'direct' or 'group'");
    if (!Array.isArray(rawIds) || rawIds.length === 0) throw new HttpError(400, 'invalid_input', 'user_ids must be a non-empty array');
    const ids = rawIds.map(positiveInt);
    if (ids.some((id) => id === null)) throw new HttpError(400, 'invalid_input', 'user_ids must be positive integers');
    if (new Set(ids).size !== ids.length) throw new HttpError(400, 'invalid_input', 'user_ids must be distinct');
    if (kind === 'direct' && ids.length !== 2) throw new HttpError(400, 'invalid_input', 'a direct conversation has exactly 2 users');
    if (title !== undefined && title !== null && (typeof title !== 'string' || title.length > 100)) {
      throw new HttpError(400, 'invalid_input', 'title must be a string of at most 100 characters');
    }
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      const [conv] = await conn.query(
        'INSERT INTO conversations (kind, title, created_at, updated_at) VALUES (?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))',
        [kind, title ?? null],
      );
      const convId = conv.insertId;
      for (let start = 0; start < ids.length; start += INSERT_BATCH) {
        const slice = ids.slice(start, start + INSERT_BATCH);
        const values = [];
        for (let i = 0; i < slice.length; i++) values.push(convId, slice[i], start + i === 0 ? 'owner' : 'member');
        await conn.query(
          `INSERT INTO conversation_participants (conversation_id, user_id, role, last_read_message_id, joined_at) VALUES ${slice
            .map(() => '(?, ?, ?, 0, UTC_TIMESTAMP(3))')
            .join(', ')}`,
          values,
        );
      }
      await conn.commit();
      return { id: convId };
    } catch (err) {
      await conn.rollback().catch(() => {});
      if (err && err.code === 'ER_NO_REFERENCED_ROW_2') throw new HttpError(400, 'invalid_input', 'unknown user id');
      throw err;
    } finally {
      conn.release();
    }
  }

  async function benchMessages(body) {
    if (!isObject(body)) throw new HttpError(400, 'invalid_input', 'expected a JSON object');
    const convId = positiveInt(body.conversation_id);
    const count = body.count;
    if (!convId) throw new HttpError(400, 'invalid_input', 'conversation_id must be a positive integer');
    if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SEED_MESSAGES) {
      throw new HttpError(400, 'invalid_input', `count must be an integer in 1..${MAX_SEED_MESSAGES}`);
    }
    const [parts] = await pool.query(
      'SELECT user_id FROM conversation_participants WHERE conversation_id = ? ORDER BY joined_at, user_id',
      [convId],
    );
    if (parts.length === 0) throw new HttpError(404, 'not_found', 'conversation not found or has no participants');
    for (let start = 0; start < count; start += INSERT_BATCH) {
      const end = Math.min(count, start + INSERT_BATCH);
      const values = [];
      for (let i = start; i < end; i++) values.push(convId, parts[i % parts.length].user_id, `seed message ${i + 1}`);
      await pool.query(
        `INSERT INTO messages (conversation_id, sender_id, body, created_at) VALUES ${Array.from(
          { length: end - start },
          () => '(?, ?, ?, UTC_TIMESTAMP(3))',
        ).join(', ')}`,
        values,
      );
    }
    await pool.query('UPDATE conversations SET updated_at = UTC_TIMESTAMP(3) WHERE id = ?', [convId]);
  }

  // The conversation list as the old app built it: one query for the caller's conversations,
  // then for each of them a participants query, a last-message query and an unread-count query.
  async function listConversations(userId) {
    const [convs] = await pool.query(
      `SELECT c.id, c.kind, c.title, c.updated_at, p.last_read_message_id
         FROM conversations c
         JOIN conversation_participants p ON p.conversation_id = c.id
        WHERE p.user_id = ?
        ORDER BY c.updated_at DESC, c.id DESC
        LIMIT 50`,
      [userId],
    );
    const conversations = await Promise.all(
      convs.map(async (c) => {
        const [participants] = await pool.execute(
          `SELECT u.id, u.username, u.display_name, p.role, p.last_read_message_id
             FROM conversation_participants p
             JOIN users u ON u.id = p.user_id
            WHERE p.conversation_id = ?
            ORDER BY p.joined_at, u.id`,
          [c.id],
        );
        const [last] = await pool.execute(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND deleted = 0 ORDER BY id DESC LIMIT 1`,
          [c.id],
        );
        const [[unread]] = await pool.execute(
          `SELECT COUNT(*) AS n FROM messages
            WHERE conversation_id = ? AND id > ? AND sender_id <> ? AND deleted = 0`,
          [c.id, c.last_read_message_id, userId],
        );
        return {
          id: c.id,
          kind: c.kind,
          title: c.title,
          participants: participants.map((p) => ({
            user: { id: p.id, username: p.username, display_name: p.display_name },
            role: p.role,
            last_read_message_id: p.last_read_message_id,
          })),
          last_message: last.length ? messageJson(last[0]) : null,
          unread_count: Number(unread.n),
          updated_at: iso(c.updated_at),
        };
      }),
    );
    return { conversations };
  }

  async function listMessages(userId, convId, searchParams) {
    let limit = 50;
    if (searchParams.has('limit')) {
      limit = positiveInt(searchParams.get('limit'));
      if (!limit || limit > 100) throw new HttpError(400, 'invalid_input', 'limit must be an integer in 1..100');
    }
    let before = null;
    if (searchParams.has('before')) {
      before = positiveInt(searchParams.get('before'));
      if (!before) throw new HttpError(400, 'invalid_input', 'before must be a positive integer');
    }
    const [member] = await pool.execute(
      'SELECT 1 FROM conversation_participants WHERE conversation_id = ? AND user_id = ?',
      [convId, userId],
    );
    if (member.length === 0) throw new HttpError(403, 'forbidden', 'not a participant of this conversation');
    // LIMIT is inlined (a validated integer): prepared LIMIT placeholders are unreliable across
    // MySQL versions.
    const [rows] = before
      ? await pool.execute(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? AND id < ? ORDER BY id DESC LIMIT ${limit + 1}`,
          [convId, before],
        )
      : await pool.execute(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY id DESC LIMIT ${limit + 1}`,
          [convId],
        );
    const hasMore = rows.length > limit;
    const page = rows.slice(0, limit).reverse().map(messageJson);
    return { messages: page, has_more: hasMore };
  }

  return async function handle(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    const method = req.method;
    try {
      if (path === '/healthz' && (method === 'GET' || method === 'HEAD')) {
        return sendJson(res, 200, { ok: true });
      }
      if (method === 'POST' && path === '/api/bench/reset') {
        await benchReset();
        return sendNoContent(res);
      }
      if (method === 'POST' && path === '/api/bench/users') {
        return sendJson(res, 200, await benchUsers(await readJson(req)));
      }
      if (method === 'POST' && path === '/api/bench/conversations') {
        return sendJson(res, 200, await benchConversation(await readJson(req)));
      }
      if (method === 'POST' && path === '/api/bench/messages') {
        await benchMessages(await readJson(req));
        return sendNoContent(res);
      }
      if (method === 'GET' && path === '/api/conversations') {
        const userId = requireUser(req);
        return sendJson(res, 200, await listConversations(userId));
      }
      const m = /^\/api\/conversations\/(\d+)\/messages$/.exec(path);
      if (method === 'GET' && m) {
        const userId = requireUser(req);
        const convId = positiveInt(m[1]);
        if (!convId) throw new HttpError(404, 'not_found', 'conversation not found');
        return sendJson(res, 200, await listMessages(userId, convId, url.searchParams));
      }
      return sendError(res, 404, 'not_found', `no route for ${method} ${path}`);
    } catch (err) {
      if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
      log('request failed:', method, path, err && err.stack ? err.stack : String(err));
      if (!res.headersSent) sendError(res, 500, 'internal', 'internal server error');
      else res.destroy();
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Socket.IO
// ---------------------------------------------------------------------------------------------

function attachSocketIo(httpServer, pool) {
  // Defaults: path /socket.io, transports polling + websocket, perMessageDeflate off,
  // pingInterval 25 s, pingTimeout 20 s, maxHttpBufferSize 1e6.
  const io = new Server(httpServer, { path: '/socket.io' });
  const online = new Map(); // user id -> number of connected sockets

  io.use((socket, next) => {
    const auth = socket.handshake.auth || {};
    const token = auth.token || socket.handshake.query.token;
    const userId = verifyToken(typeof token === 'string' ? token : '');
    if (!userId) return next(new Error('unauthenticated'));
    socket.data.userId = userId;
    next();
  });

  async function isMember(conversationId, userId) {
    const [rows] = await pool.execute(
      'SELECT 1 FROM conversation_participants WHERE conversation_id = ? AND user_id = ?',
      [conversationId, userId],
    );
    return rows.length > 0;
  }

  io.on('connection', (socket) => {
    const userId = socket.data.userId;
    socket.join(`user:${userId}`);
    online.set(userId, (online.get(userId) || 0) + 1);
    socket.emit('connection:established', { user_id: userId });

    // Every handler takes an optional Socket.IO acknowledgement as its last argument (the old
    // client did not use them; they let a driver know when e.g. a join has taken effect).
    const reply = (ack, value) => {
      if (typeof ack === 'function') ack(value);
    };
    const emitError = (ack, code, message, extra = {}) => {
      const err = { code, message, ...extra };
      socket.emit('error', err);
      reply(ack, { ok: false, error: err });
    };
    const internal = (ack, what, err, extra) => {
      log(`${what} failed:`, err && err.stack ? err.stack : String(err));
      emitError(ack, 'internal', 'internal server error', extra);
    };

    socket.on('conversation:join', async (data, ack) => {
      const convId = positiveInt(isObject(data) ? data.conversation_id : undefined);
      if (!convId) return emitError(ack, 'not_found', 'conversation not found');
      try {
        if (!(await isMember(convId, userId))) return emitError(ack, 'not_found', 'conversation not found');
        socket.join(`conversation:${convId}`);
        reply(ack, { ok: true, conversation_id: convId });
      } catch (err) {
        internal(ack, 'conversation:join', err);
      }
    });

    socket.on('conversation:leave', (data, ack) => {
      const convId = positiveInt(isObject(data) ? data.conversation_id : undefined);
      if (convId) socket.leave(`conversation:${convId}`);
      reply(ack, { ok: true, conversation_id: convId });
    });

    socket.on('message:send', async (data, ack) => {
      const d = isObject(data) ? data : {};
      const clientId = typeof d.client_id === 'string' && d.client_id.length <= 100 ? d.client_id : null;
      const convId = positiveInt(d.conversation_id);
      if (!convId) return emitError(ack, 'invalid_input', 'conversation_id must be a positive integer', { client_id: clientId });
      if (d.client_id != null && (typeof d.client_id !== 'string' || d.client_id.length > 100)) {
        return emitError(ack, 'invalid_input', 'client_id must be a string of at most 100 characters', { client_id: null });
      }
      const body = typeof d.body === 'string' ? d.body.trim() : '';
      const len = charCount(body);
      if (len < 1 || len > MAX_BODY_CHARS) {
        return emitError(ack, 'invalid_input', `body must be 1..${MAX_BODY_CHARS} characters`, { client_id: clientId });
      }
      try {
        // Each step is its own autocommit pool query, as the old code did.
        if (!(await isMember(convId, userId))) {
          return emitError(ack, 'not_found', 'conversation not found', { client_id: clientId });
        }
        const [ins] = await pool.execute(
          'INSERT INTO messages (conversation_id, sender_id, client_id, body, created_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))',
          [convId, userId, clientId, body],
        );
        const [rows] = await pool.execute(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [ins.insertId]);
        await pool.execute('UPDATE conversations SET updated_at = UTC_TIMESTAMP(3) WHERE id = ?', [convId]);
        await pool.execute(
          'UPDATE conversation_participants SET last_read_message_id = ? WHERE conversation_id = ? AND user_id = ?',
          [ins.insertId, convId, userId],
        );
        const message = messageJson(rows[0]);
        io.to(`conversation:${convId}`).emit('message:new', { message });
        socket.emit('message:ack', { client_id: clientId, message });
        reply(ack, { ok: true, client_id: clientId, message });
      } catch (err) {
        internal(ack, 'message:send', err, { client_id: clientId });
      }
    });

    for (const event of ['typing:start', 'typing:stop']) {
      socket.on(event, (data) => {
        const convId = positiveInt(isObject(data) ? data.conversation_id : undefined);
        if (!convId) return;
        const room = `conversation:${convId}`;
        if (!socket.rooms.has(room)) return; // only to rooms the socket has joined
        socket.to(room).emit(event, { conversation_id: convId, user_id: userId });
      });
    }

    socket.on('message:read', async (data, ack) => {
      const d = isObject(data) ? data : {};
      const convId = positiveInt(d.conversation_id);
      const messageId = positiveInt(d.message_id);
      if (!convId || !messageId) return emitError(ack, 'invalid_input', 'conversation_id and message_id must be positive integers');
      try {
        const [res] = await pool.execute(
          `UPDATE conversation_participants SET last_read_message_id = GREATEST(last_read_message_id, ?)
            WHERE conversation_id = ? AND user_id = ?`,
          [messageId, convId, userId],
        );
        if (res.affectedRows === 0) return emitError(ack, 'not_found', 'conversation not found');
        io.to(`conversation:${convId}`).emit('message:read', { conversation_id: convId, user_id: userId, message_id: messageId });
        reply(ack, { ok: true });
      } catch (err) {
        internal(ack, 'message:read', err);
      }
    });

    socket.on('disconnect', () => {
      const n = (online.get(userId) || 1) - 1;
      if (n <= 0) online.delete(userId);
      else online.set(userId, n);
    });
  });

  return io;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  let pool;
  try {
    pool = await initDatabase();
  } catch (err) {
    fail(`cannot prepare MySQL database ${DB.database} at ${DB.host}:${DB.port}: ${err.message}`);
  }

  const httpServer = http.createServer(makeRest(pool));
  const io = attachSocketIo(httpServer, pool);

  httpServer.on('error', (err) => fail(`cannot listen on ${HOST}:${PORT}: ${err.message}`));
  httpServer.listen(PORT, HOST, () => {
    const { port } = httpServer.address();
    const shown = HOST === '0.0.0.0' || HOST === '::' ? '127.0.0.1' : HOST.includes(':') ? `[${HOST}]` : HOST;
    process.stdout.write(`listening http://${shown}:${port}\n`);
  });

  let stopping = false;
  const shutdown = (signal) => {
    if (stopping) return;
    stopping = true;
    log(`received ${signal}, shutting down`);
    const force = setTimeout(() => {
      log('shutdown timed out, exiting');
      process.exit(1);
    }, 5000);
    force.unref();
    // io.close() disconnects every socket and closes the HTTP server.
    io.close(() => {
      pool
        .end()
        .catch((err) => log('closing the MySQL pool failed:', err.message))
        .finally(() => process.exit(0));
    });
    // Drop keep-alive HTTP connections too, so the server closes promptly.
    setImmediate(() => httpServer.closeAllConnections());
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
