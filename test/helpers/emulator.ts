// One moto_server per test file (optionally behind the fault proxy), reset before every test.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { defaultVpcId, startMoto, type MotoServer } from './moto.js';

export interface Emulator {
  readonly moto: MotoServer;
  /** A raw SDK client for fixtures, us-east-1, straight to moto. */
  readonly ec2: EC2Client;
  /** us-east-1's default VPC. */
  readonly vpcId: string;
  /** The fault proxy in front of moto (only with `proxy: true`); its rules and counts are cleared per test. */
  readonly proxy: FaultProxy;
  /** The endpoint the product should use: the proxy's when there is one, else moto's. */
  readonly endpoint: string;
}

/** Registers the hooks; the returned object's fields are filled before each test runs. */
export function useEmulator(options: { proxy?: boolean } = {}): Emulator {
  const state: { -readonly [K in keyof Emulator]?: Emulator[K] } = {};
  beforeAll(async () => {
    state.moto = await startMoto();
    if (options.proxy === true) state.proxy = await startFaultProxy(state.moto.endpoint);
  });
  afterAll(async () => {
    await state.proxy?.stop();
    await state.moto?.stop();
  });
  beforeEach(async () => {
    const moto = required(state.moto, 'moto');
    await moto.reset();
    state.proxy?.clearRules();
    state.proxy?.resetCounts();
    state.ec2 = moto.ec2('us-east-1');
    state.vpcId = await defaultVpcId(state.ec2);
  });
  return {
    get moto() {
      return required(state.moto, 'moto');
    },
    get ec2() {
      return required(state.ec2, 'ec2');
    },
    get vpcId() {
      return required(state.vpcId, 'vpcId');
    },
    get proxy() {
      return required(state.proxy, 'proxy (useEmulator({ proxy: true }))');
    },
    get endpoint() {
      return state.proxy?.endpoint ?? required(state.moto, 'moto').endpoint;
    },
  };
}

function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`the emulator's ${name} is not set up (used outside a test?)`);
  return value;
}
