// A host for lifecycle tests that need no OVS and no root: every command a
// resource kind runs (through provider/host.ts `exec`) is checked against a
// script of the exact argument vectors expected, in order, and answered with
// the output real OVS gave for it (recorded by test/fixtures/lifecycle/record.ts).
import { expect } from "vitest";
import { CommandError, hostLabel, withExecutor, type Executor, type HostSpec } from "../../provider/host.ts";

/** One command as it ran on a real host, and what it printed. */
export interface Recorded {
  argv: string[];
  stdin?: string;
  stdout: string;
  stderr: string;
  /** 0 for success. */
  exitCode: number;
}

/**
 * Replays `script`: the n-th command must be the n-th argv, and gets its
 * answer (a CommandError for a non-zero exit, as the real transport gives).
 */
export class RecordingHost {
  /** The commands run so far. */
  readonly calls: string[][] = [];
  private next = 0;
  private readonly script: readonly Recorded[];

  constructor(script: readonly Recorded[]) {
    this.script = script;
  }

  private readonly executor: Executor = async (host: HostSpec, argv: readonly string[], options) => {
    const step = this.script[this.next++];
    this.calls.push([...argv]);
    expect([...argv], `command ${this.next} of the script`).toEqual(step?.argv);
    expect(options.stdin, `stdin of command ${this.next}`).toEqual(step.stdin);
    if (step.exitCode !== 0) throw new CommandError(hostLabel(host), argv, step.exitCode, step.stdout, step.stderr, `exited ${step.exitCode}`);
    return { stdout: step.stdout, stderr: step.stderr };
  };

  /** Runs `fn` against this host; every command of the script must have run by the end. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const result = await withExecutor(this.executor, fn);
    expect(this.calls.length, "commands run").toBe(this.script.length);
    return result;
  }
}
