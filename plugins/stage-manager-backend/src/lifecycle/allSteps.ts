import {
  ARCHIVE_STEPS,
  rollBackArchiveOperation,
} from '../archives/archiveSteps';
import { REFRESH_STEPS, rollBackRefresh } from './refresh';
import { rollBack, StepContext, StepDefinition, STEPS } from './steps';

/** Every step the engine can run, by name: the lifecycle's (with refresh) and the archives'. */
export const ALL_STEPS: Record<string, StepDefinition> = {
  ...STEPS,
  ...REFRESH_STEPS,
  ...ARCHIVE_STEPS,
};

/** Rolls back a failed operation of any kind before its commit step. */
export async function rollBackOperation(ctx: StepContext): Promise<void> {
  if (await rollBackArchiveOperation(ctx)) return;
  if (await rollBackRefresh(ctx)) return;
  await rollBack(ctx);
}
