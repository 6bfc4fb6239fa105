import {
  ARCHIVE_STEPS,
  rollBackArchiveOperation,
} from '../archives/archiveSteps';
import { rollBack, StepContext, StepDefinition, STEPS } from './steps';

/** Every step the engine can run, by name: the lifecycle's and the archives'. */
export const ALL_STEPS: Record<string, StepDefinition> = {
  ...STEPS,
  ...ARCHIVE_STEPS,
};

/** Rolls back a failed operation of any kind before its commit step. */
export async function rollBackOperation(ctx: StepContext): Promise<void> {
  if (await rollBackArchiveOperation(ctx)) return;
  await rollBack(ctx);
}
