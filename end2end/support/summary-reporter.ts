/**
 * Prints the outcome per project, then one closing line for the whole run:
 *   js: 13 passed, 0 failed, 0 skipped
 *   nojs: 11 passed, 0 failed, 2 skipped
 *   e2e: 24 passed, 0 failed, 2 skipped
 * "passed" includes tests marked `test.fail` (known app bugs) that failed as expected; they
 * are listed.
 */
import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

type Status = 'passed' | 'failed' | 'skipped';
type Counts = Record<Status, number>;

export default class SummaryReporter implements Reporter {
  private readonly last = new Map<TestCase, { project: string; status: Status; expectedFailure: boolean }>();

  onTestEnd(test: TestCase, _result: TestResult): void {
    const project = test.parent.project()?.name ?? '?';
    const o = test.outcome();
    const status: Status = o === 'skipped' ? 'skipped' : o === 'expected' || o === 'flaky' ? 'passed' : 'failed';
    // A retried test reports again: keep its last outcome.
    this.last.set(test, { project, status, expectedFailure: o === 'expected' && test.expectedStatus === 'failed' });
  }

  onEnd(result: FullResult): void {
    const byProject = new Map<string, Counts>();
    const expectedFailures: string[] = [];
    for (const [test, { project, status, expectedFailure }] of this.last) {
      const c = byProject.get(project) ?? { passed: 0, failed: 0, skipped: 0 };
      c[status]++;
      byProject.set(project, c);
      if (expectedFailure) expectedFailures.push(`[${project}] ${test.title}`);
    }
    const line = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
    console.log('');
    if (expectedFailures.length) {
      console.log(`Known app bugs (tests marked test.fail, failing as expected): ${expectedFailures.length}`);
      for (const t of expectedFailures) console.log(`  ${t}`);
    }
    const total: Counts = { passed: 0, failed: 0, skipped: 0 };
    for (const [project, c] of [...byProject.entries()].sort()) {
      console.log(`${project}: ${line(c)}`);
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
    }
    if (result.status !== 'passed' && total.failed === 0) total.failed = 1; // e.g. the global setup failed
    console.log(`e2e: ${line(total)}`);
  }

  printsToStdio(): boolean {
    return false;
  }
}
