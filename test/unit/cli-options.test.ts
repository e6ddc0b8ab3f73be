// Option values are parsed once, by these parsers (commander calls them for flags and environment
// variables alike); each rejection says what is wrong and what to write.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { plainInvalidValue } from '../../src/cli/program.js';
import {
  collectPaths,
  DEFAULTS,
  maskUserInfo,
  MAX_TIMER_SECONDS,
  parseEnvBoolean,
  parseListen,
  parsePositiveInt,
  parsePositiveNumber,
  parseRegion,
  parseSchedule,
  parseTimezone,
  sdkEndpointProblem,
} from '../../src/cli/options.js';

function rejection(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected a rejection');
}

describe('time options never exceed what a Node.js timer holds', () => {
  it('refuses a --pass-timeout over 24.8 days and a --write-rate under 0.001 per second, saying what to write', () => {
    const limit = { value: MAX_TIMER_SECONDS, why: 'x' };
    expect(MAX_TIMER_SECONDS).toBe(2_147_483);
    expect(rejection(() => parsePositiveInt('--pass-timeout', '99999999', 300, limit))).toBe(
      '--pass-timeout "99999999" is more than 2147483 (x); write at most --pass-timeout 2147483',
    );
    expect(parsePositiveInt('--pass-timeout', '2147483', 300, limit)).toBe(2_147_483);
    expect(
      rejection(() => parsePositiveNumber('--write-rate', '0.0000001', { value: 0.001, why: 'y' })),
    ).toBe('--write-rate "0.0000001" is less than 0.001 (y); write at least --write-rate 0.001');
  });
});

describe('maskUserInfo', () => {
  it.each([
    ['http://admin:Hunter2/Pass@127.0.0.1:5391', 'http://***@127.0.0.1:5391'],
    ['http://a:b@c?d#e@host:1', 'http://***@host:1'],
    ['admin:pw@host', '***@host'],
    ['http://user:se/cret', 'http://user:***'],
    ['user:secret', 'user:***'],
    ['http://127.0.0.1:99999', 'http://127.0.0.1:99999'],
    ['http://127.0.0.1:5000/x', 'http://127.0.0.1:5000/x'],
  ])('%s is echoed as %s: nothing of a user name or password is left', (value, masked) => {
    expect(maskUserInfo(value)).toBe(masked);
  });
});

describe('parseListen', () => {
  it.each([
    ['0.0.0.0:9464', { host: '0.0.0.0', port: 9464 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    [':9464', { host: '0.0.0.0', port: 9464 }],
    ['[::]:9464', { host: '::', port: 9464 }],
  ])('accepts %s', (value, address) => {
    expect(parseListen(value)).toEqual(address);
  });

  it('says a port above 65535 is out of range, and what to write', () => {
    expect(rejection(() => parseListen('localhost:99999'))).toBe(
      '--listen "localhost:99999": the port must be 0-65535 (0 picks a free one); write host:port, e.g. localhost:9464',
    );
    expect(rejection(() => parseListen('[::1]:70000'))).toContain('write host:port, e.g. [::1]:9464');
  });

  it.each(['nope', '9464', 'host:port', 'a:b:9464'])('says %j is not host:port', (value) => {
    expect(rejection(() => parseListen(value))).toMatch(/is not host:port; write e\.g\. 0\.0\.0\.0:9464/);
  });
});

describe('plainInvalidValue', () => {
  it("says a refused value once, without commander's preamble that repeats the option and value", () => {
    expect(
      plainInvalidValue(
        `error: option '--listen <host:port>' argument 'localhost:99999' is invalid. --listen "localhost:99999": the port must be 0-65535`,
      ),
    ).toBe('error: --listen "localhost:99999": the port must be 0-65535');
  });

  it('names a value from the environment by its variable', () => {
    expect(
      plainInvalidValue(
        `error: option '--listen <host:port>' value 'localhost:99999' from env 'SGR_LISTEN' is invalid. --listen "localhost:99999": the port must be 0-65535`,
      ),
    ).toBe('error: SGR_LISTEN="localhost:99999": the port must be 0-65535');
    expect(
      plainInvalidValue(
        `error: option '--timezone <tz>' value ' ' from env 'SGR_TIMEZONE' is invalid. --timezone is empty: write UTC`,
      ),
    ).toBe('error: SGR_TIMEZONE is empty: write UTC');
  });

  it('gives the example for the variable when the value came from it', () => {
    expect(
      plainInvalidValue(
        `error: option '--max-rules-per-group <n>' value '0' from env 'SGR_MAX_RULES_PER_GROUP' is invalid. --max-rules-per-group "0" is not a positive whole number; write e.g. --max-rules-per-group 60`,
      ),
    ).toBe(
      'error: SGR_MAX_RULES_PER_GROUP="0" is not a positive whole number; write e.g. SGR_MAX_RULES_PER_GROUP=60',
    );
  });

  it("keeps commander's wording where it is the only one naming the option (choices)", () => {
    const choices = `error: option '--format <format>' argument 'xml' is invalid. Allowed choices are text, json, markdown.`;
    expect(plainInvalidValue(choices)).toBe(choices);
  });
});

describe('parseTimezone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/Los_Angeles'])('accepts %s', (tz) => {
    expect(parseTimezone(tz)).toBe(tz);
  });

  it.each(['Mars/Olympus_Mons', 'UTC+25', ''])('rejects %j', (tz) => {
    expect(rejection(() => parseTimezone(tz))).toMatch(/--timezone .*(IANA|empty)/);
  });
});

describe('parseSchedule', () => {
  it('accepts cron with and without seconds', () => {
    expect(parseSchedule('*/5 * * * *')).toBe('*/5 * * * *');
    expect(parseSchedule('*/30 * * * * *')).toBe('*/30 * * * * *');
  });

  it('names the wrong field and the values it takes', () => {
    expect(rejection(() => parseSchedule('61 * * * *'))).toMatch(
      /the minute field "61" is not valid \(minute takes 0-59, \*, a range a-b, a list a,b or a step \*\/n; e\.g\. "0 \* \* \* \*"\); write 5 fields/,
    );
  });
});

describe('other parsers', () => {
  it('parsePositiveInt names the option and an example', () => {
    expect(parsePositiveInt('--pass-timeout', '240', 240)).toBe(240);
    // The example is the option's own default (it was 60, the quota's, for every option).
    expect(rejection(() => parsePositiveInt('--pass-timeout', '0', 240))).toBe(
      '--pass-timeout "0" is not a positive whole number; write e.g. --pass-timeout 240',
    );
    expect(rejection(() => parsePositiveInt('--concurrency', '0', 8))).toBe(
      '--concurrency "0" is not a positive whole number; write e.g. --concurrency 8',
    );
  });

  it('parseRegion names where a region came from', () => {
    expect(parseRegion('eu-central-2')).toBe('eu-central-2');
    expect(parseRegion('us-gov-west-1')).toBe('us-gov-west-1');
    expect(rejection(() => parseRegion('Frankfurt', 'AWS_DEFAULT_REGION'))).toBe(
      'AWS_DEFAULT_REGION "Frankfurt" is not an AWS region name; write e.g. us-east-1',
    );
  });

  it('parseEnvBoolean reads true/false spellings, so SGR_X=false is false', () => {
    expect(['true', '1', 'YES', 'on'].map((v) => parseEnvBoolean('SGR_X', v))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['false', '0', 'no', 'off', ''].map((v) => parseEnvBoolean('SGR_X', v))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(rejection(() => parseEnvBoolean('SGR_X', 'maybe'))).toBe(
      'SGR_X="maybe" is not a boolean; write true or false',
    );
  });

  it('collectPaths replaces the default with the first path and appends the rest', () => {
    const first = collectPaths('a', DEFAULTS.policies);
    expect(first).toEqual(['a']);
    expect(collectPaths('b', first)).toEqual(['a', 'b']);
  });
});

describe('sdkEndpointProblem: the SDK’s AWS_ENDPOINT_URL variables', () => {
  it('accepts http(s) URLs, and unset or empty variables', () => {
    expect(sdkEndpointProblem({})).toBeUndefined();
    expect(
      sdkEndpointProblem({ AWS_ENDPOINT_URL: '', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:5000' }),
    ).toBeUndefined();
    expect(sdkEndpointProblem({ AWS_ENDPOINT_URL_STS: 'https://sts.example.com' })).toBeUndefined();
  });

  it('names the variable and what to write; shows the value only when it cannot hold a password', () => {
    expect(sdkEndpointProblem({ AWS_ENDPOINT_URL_ORGANIZATIONS: 'ftp://127.0.0.1:21' })).toBe(
      'AWS_ENDPOINT_URL_ORGANIZATIONS="ftp://127.0.0.1:21" must be an http:// or https:// URL; write e.g. AWS_ENDPOINT_URL_ORGANIZATIONS=http://127.0.0.1:5000, or unset it',
    );
    expect(sdkEndpointProblem({ AWS_ENDPOINT_URL: 'http://a:b@127.0.0.1:99999' })).toBe(
      'AWS_ENDPOINT_URL is not a URL; write e.g. AWS_ENDPOINT_URL=http://127.0.0.1:5000, or unset it',
    );
    expect(sdkEndpointProblem({ AWS_ENDPOINT_URL: 'http://user:pa/ss' })).toBe(
      'AWS_ENDPOINT_URL is not a URL; write e.g. AWS_ENDPOINT_URL=http://127.0.0.1:5000, or unset it',
    );
    expect(sdkEndpointProblem({ AWS_ENDPOINT_URL_EC2: 'http://user:secret@127.0.0.1:5000' })).toBe(
      'AWS_ENDPOINT_URL_EC2 must not carry a user name or password (its value is not shown); write e.g. AWS_ENDPOINT_URL_EC2=http://127.0.0.1:5000, or unset it',
    );
  });

  it('checks nothing when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true (the SDK ignores them then)', () => {
    expect(
      sdkEndpointProblem({ AWS_ENDPOINT_URL: 'not a url', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'TRUE' }),
    ).toBeUndefined();
  });
});
