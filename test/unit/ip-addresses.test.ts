/** Which addresses URL previews may connect to (lib/ip-addresses.ts): public unicast only, IPv4-mapped judged as IPv4. */
import { describe, expect, test } from '@jest/globals';
import { inNetworks, isCidr, isPublicAddress } from '../../src/lib/ip-addresses.js';

describe('isPublicAddress', () => {
  test.each([
    '127.0.0.1', '127.255.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1', '169.254.169.254', '0.0.0.0',
    '224.0.0.1', '239.255.255.250', '255.255.255.255', '240.0.0.1', '192.0.2.1', '198.18.0.1', '198.51.100.1', '203.0.113.1',
    '::', '::1', '[::1]', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1', 'fc00::1', 'fd12:3456::1',
    'fe80::1', 'fec0::1', 'ff02::1', '64:ff9b::7f00:1', '2002:7f00:1::', '2001::1', '2001:db8::1', '100::1',
    'localhost', 'example.org', '127.1', '0x7f.0.0.1', '2130706433', '',
  ])('%s is not public', (ip) => expect(isPublicAddress(ip)).toBe(false));
  test.each(['8.8.8.8', '1.1.1.1', '93.184.216.34', '::ffff:8.8.8.8', '2606:4700:4700::1111', '2a00:1450:4001::1'])('%s is public', (ip) => expect(isPublicAddress(ip)).toBe(true));
});

test('allowed networks: addresses and CIDR, IPv4-mapped counted as IPv4', () => {
  expect(inNetworks('127.0.0.1', ['127.0.0.1/32'])).toBe(true);
  expect(inNetworks('::ffff:127.0.0.1', ['127.0.0.1/32'])).toBe(true);
  expect(inNetworks('127.0.0.2', ['127.0.0.1/32'])).toBe(false);
  expect(inNetworks('10.20.3.4', ['10.20.0.0/16', 'fd00::/8'])).toBe(true);
  expect(inNetworks('fd00::5', ['10.20.0.0/16', 'fd00::/8'])).toBe(true);
  expect(inNetworks('192.168.1.5', ['192.168.1.5'])).toBe(true);
  expect(inNetworks('not an ip', ['0.0.0.0/0'])).toBe(false);
  expect([isCidr('10.0.0.0/8'), isCidr('::1'), isCidr('fd00::/8'), isCidr('10.0.0.0/33'), isCidr('intranet'), isCidr('127.1')]).toEqual([true, true, true, false, false, false]);
});
