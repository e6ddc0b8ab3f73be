// Preloaded into a CLI under test (NODE_OPTIONS=--import <this file>): a DNS lookup of, or a
// connection to, any host that is not loopback fails at once (ENOTFOUND / ECONNREFUSED) instead of
// leaving the machine, and its name is appended to the file SGR_TEST_OFF_MACHINE_LOG names, so a
// test can prove that nothing was sent anywhere but 127.0.0.1 / ::1.
import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';

const LOG = process.env['SGR_TEST_OFF_MACHINE_LOG'];

function isLoopback(host) {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(?:::ffff:)?127\./.test(bare);
}

function record(host) {
  if (LOG !== undefined) appendFileSync(LOG, `${host}\n`);
}

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, options, callback) {
  const done = typeof options === 'function' ? options : callback;
  if (typeof hostname === 'string' && !isLoopback(hostname)) {
    record(hostname);
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname,
    });
    process.nextTick(done, error);
    return {};
  }
  return lookup.call(this, hostname, options, callback);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : {};
  const host =
    typeof options.host === 'string' ? options.host : typeof args[1] === 'string' ? args[1] : undefined;
  if (options.path === undefined && host !== undefined && net.isIP(host) !== 0 && !isLoopback(host)) {
    record(host);
    process.nextTick(() =>
      this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host}`), { code: 'ECONNREFUSED' })),
    );
    return this;
  }
  return connect.apply(this, args);
};
