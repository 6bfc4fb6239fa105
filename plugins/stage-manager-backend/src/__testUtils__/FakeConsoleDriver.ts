import { NotFoundError } from '@backstage/errors';
import {
  ConsoleEndpoint,
  HypervisorDriver,
} from '@internal/plugin-stage-manager-node';

function notImplemented(method: string): Promise<never> {
  return Promise.reject(
    new Error(`FakeConsoleDriver.${method} is not implemented in the fake`),
  );
}

/**
 * A FAKE hypervisor driver for tests of the console proxy: it only knows where the consoles of
 * its machines are (set by the test) and throws for everything else.
 */
export class FakeConsoleDriver implements HypervisorDriver {
  readonly id = 'fake-console';
  /** Console endpoints by machine name (a deployment machine's `driverRef`). */
  readonly consoles = new Map<string, ConsoleEndpoint[]>();
  /** Machine names the console endpoints were asked for, in order. */
  readonly lookups: string[] = [];

  async getConsoleEndpoints(request: {
    name: string;
  }): Promise<ConsoleEndpoint[]> {
    this.lookups.push(request.name);
    const endpoints = this.consoles.get(request.name);
    if (!endpoints) {
      throw new NotFoundError(`The fake has no machine '${request.name}'`);
    }
    return endpoints;
  }

  getCapabilities() {
    return notImplemented('getCapabilities');
  }
  getPoolStatus() {
    return notImplemented('getPoolStatus');
  }
  inspectImage() {
    return notImplemented('inspectImage');
  }
  createDisk() {
    return notImplemented('createDisk');
  }
  deleteDisk() {
    return notImplemented('deleteDisk');
  }
  exportDisk() {
    return notImplemented('exportDisk');
  }
  importDisk() {
    return notImplemented('importDisk');
  }
  createFence() {
    return notImplemented('createFence');
  }
  destroyFence() {
    return notImplemented('destroyFence');
  }
  execInFence() {
    return notImplemented('execInFence');
  }
  defineMachine() {
    return notImplemented('defineMachine');
  }
  startMachine() {
    return notImplemented('startMachine');
  }
  stopMachine() {
    return notImplemented('stopMachine');
  }
  undefineMachine() {
    return notImplemented('undefineMachine');
  }
  getMachine() {
    return notImplemented('getMachine');
  }
  createSnapshot() {
    return notImplemented('createSnapshot');
  }
  listSnapshots() {
    return notImplemented('listSnapshots');
  }
  revertSnapshot() {
    return notImplemented('revertSnapshot');
  }
  deleteSnapshot() {
    return notImplemented('deleteSnapshot');
  }
  freezeMachineDisks() {
    return notImplemented('freezeMachineDisks');
  }
  listInventory() {
    return notImplemented('listInventory');
  }
}
