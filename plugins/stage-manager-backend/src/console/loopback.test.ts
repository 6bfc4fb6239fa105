import { isLoopbackAddress, loopbackWebSocketUrl } from './loopback';

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1'])(
    'accepts %s',
    host => {
      expect(isLoopbackAddress(host)).toBe(true);
    },
  );

  it.each([
    'localhost',
    '10.0.0.1',
    '128.0.0.1',
    '0.0.0.0',
    '::',
    '::2',
    'example.com',
    '',
  ])('refuses %s', host => {
    expect(isLoopbackAddress(host)).toBe(false);
  });
});

describe('loopbackWebSocketUrl', () => {
  const endpoint = {
    kind: 'vnc-websocket' as const,
    host: '127.0.0.1',
    port: 5701,
    path: '/',
  };

  it('builds ws:// URLs on loopback, IPv6 in brackets', () => {
    expect(loopbackWebSocketUrl(endpoint).href).toBe('ws://127.0.0.1:5701/');
    expect(
      loopbackWebSocketUrl({ ...endpoint, host: '::1', path: '/vnc?x=1' }).href,
    ).toBe('ws://[::1]:5701/vnc?x=1');
  });

  it('refuses other hosts, bad ports and paths that leave the host', () => {
    expect(() =>
      loopbackWebSocketUrl({ ...endpoint, host: '192.0.2.1' }),
    ).toThrow(/only loopback addresses/);
    expect(() =>
      loopbackWebSocketUrl({ ...endpoint, host: 'localhost' }),
    ).toThrow(/only loopback addresses/);
    expect(() => loopbackWebSocketUrl({ ...endpoint, port: 0 })).toThrow(
      /port 0/,
    );
    expect(() => loopbackWebSocketUrl({ ...endpoint, port: 70000 })).toThrow(
      /port 70000/,
    );
    expect(() => loopbackWebSocketUrl({ ...endpoint, path: 'vnc' })).toThrow(
      /must start with/,
    );
    expect(() =>
      loopbackWebSocketUrl({ ...endpoint, path: '//192.0.2.1:80/' }),
    ).toThrow(/leaves 127.0.0.1:5701/);
  });
});
