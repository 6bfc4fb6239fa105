import {
  HypervisorDriver,
  StageManagerDriversExtensionPoint,
} from '@internal/plugin-stage-manager-node';

/** The drivers registered through the `stageManager.drivers` extension point. */
export class DriverRegistry implements StageManagerDriversExtensionPoint {
  readonly #drivers = new Map<string, HypervisorDriver>();
  #locked = false;

  addDriver(driver: HypervisorDriver): void {
    if (this.#locked) {
      throw new Error(
        'Stage Manager drivers must be added while the backend starts',
      );
    }
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(driver.id)) {
      throw new Error(
        `Invalid Stage Manager driver id '${driver.id}': use lower-case letters, digits and dashes`,
      );
    }
    if (this.#drivers.has(driver.id)) {
      throw new Error(
        `A Stage Manager driver with id '${driver.id}' is already registered`,
      );
    }
    this.#drivers.set(driver.id, driver);
  }

  /** Called once the plugin initializes: no more registrations after that. */
  lock(): void {
    this.#locked = true;
  }

  get(id: string): HypervisorDriver | undefined {
    return this.#drivers.get(id);
  }

  has(id: string): boolean {
    return this.#drivers.has(id);
  }

  ids(): string[] {
    return [...this.#drivers.keys()].sort();
  }
}
