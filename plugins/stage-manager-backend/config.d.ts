import { HumanDuration } from '@backstage/types';

export interface Config {
  /** Stage Manager: stage workflows, resource pools and stage policies. */
  stageManager?: {
    /**
     * Workflow used by services whose `stage-manager.io/workflow` annotation is empty.
     * Defaults to `default`.
     */
    defaultWorkflow?: string;

    /**
     * Named workflows: ordered stages a configuration moves through. When none is configured,
     * `default` is integration, test, staging, uat, production.
     */
    workflows?: {
      [name: string]: {
        title?: string;
        /** Ordered stage names, earliest first; the last one is production. */
        stages: string[];
      };
    };

    /** Policies per stage name, used by every workflow that contains the stage. */
    stages?: {
      [name: string]: {
        /** Resource pool the stage deploys to (services can override by annotation). */
        pool?: string;
        /** Catalog Group or User entity refs whose members may approve changes into the stage. */
        approvers?: string[];
        /** Approvals needed before a promotion or swap into the stage; default 1 with approvers. */
        requiredApprovals?: number;
        /**
         * Lease policy of deployments in the stage (ISO 8601 durations such as `P7D`, or
         * `{ days: 7 }`). Without it, deployments in the stage have no lease.
         */
        lease?: {
          /** Machines are stopped this long after the deployment starts running. */
          runtime?: string | HumanDuration;
          /** The deployment is undeployed this long after it starts running. */
          storage?: string | HumanDuration;
          /** Extensions never reach beyond this long after the start. */
          maximum?: string | HumanDuration;
          /** Owners are notified this long before an expiry; default one day. */
          warning?: string | HumanDuration;
        };
        /**
         * How long a deployment replaced by a swap is kept, stopped, so the swap can be rolled
         * back, when the stage has no storage lease. Default seven days.
         */
        retiredRetention?: string | HumanDuration;
        /**
         * Drift gate: a promotion or swap into this stage is refused while its source's latest
         * drift scan against production scores below these minimums in the named layers. A
         * scan older than `maxScanAge` (default one hour) is repeated first.
         */
        driftGate?: {
          minScores: {
            configuration?: number;
            hypervisor?: number;
            disks?: number;
            divergence?: number;
          };
          maxScanAge?: string | HumanDuration;
        };
      };
    };

    /**
     * Templates managed in app-config. Each is created at startup when no template of that name
     * exists (an audited action of the plugin itself); existing templates are left as they are.
     * Relative paths are resolved against the backend's working directory.
     */
    templates?: {
      [name: string]: {
        title?: string;
        description?: string;
        driver: string;
        baseImage: string;
        vcpus: number;
        memoryMiB: number;
        disks: Array<{
          name: string;
          sizeGiB: number;
          source?: 'base' | 'blank';
        }>;
        nics?: Array<{ name: string; network?: 'fence' }>;
        boot?: {
          type: 'disk' | 'kernel';
          kernel?: string;
          initrd?: string;
          cmdline?: string;
        };
        /** How Stage Manager knows a machine is up: an HTTP GET from inside its fence. */
        readiness?: {
          http: { port: number; path?: string; contains?: string };
          timeoutSeconds?: number;
        };
      };
    };

    /** Approval requests. */
    approvals?: {
      /** An approval request that is not decided within this time expires; default `P3D`. */
      timeout?: string | HumanDuration;
    };

    /** The lifecycle engine. */
    operations?: {
      /**
       * An operation whose runner has not written a heartbeat for this long is taken over by
       * another backend instance (the runner died); default `PT30S`.
       */
      staleAfter?: string | HumanDuration;
    };

    /**
     * Drift scans: how each stage copy matches its service's production deployment.
     */
    drift?: {
      /** How often every stage copy is scanned (a global scheduled task). Default 1 hour. */
      scanInterval?: string | HumanDuration;
      /** Scans older than this are removed; each deployment keeps its latest. Default 90 days. */
      historyMaxAge?: string | HumanDuration;
    };

    /**
     * Archives of deployments: chunked, deduplicated, zstd-compressed, in storage tiers.
     */
    archives?: {
      /**
       * Storage tiers, hottest first; new archives go to the first. Default: `hot` (level 3) and
       * `cold` (level 12) below `data/archives`.
       */
      tiers?: {
        [name: string]: {
          /** Only `file` (a folder) for now. */
          type?: 'file';
          /** Folder of the tier (relative paths are resolved against the backend's folder). */
          path: string;
          /** zstd level 1–19 of chunks written into the tier; default 3. */
          compressionLevel?: number;
        };
      };
      /** Chunk size in KiB (64–16384); default 1024. Changing it only affects new archives. */
      chunkSizeKiB?: number;
      /** Folder for the raw disk images archives and restores stream through. */
      scratchPath?: string;
      /**
       * Moves between tiers: an archive moves `from` → `to` once it is older than `olderThan`
       * and has not been restored for `notAccessedFor` (either alone when only one is given).
       * Default with tiers `hot` and `cold`: hot → cold after P7D and P3D unused.
       */
      tiering?: Array<{
        from: string;
        to: string;
        olderThan?: string | HumanDuration;
        notAccessedFor?: string | HumanDuration;
      }>;
      /**
       * How many archives each service keeps per stage (`default` for stages not listed): the
       * newest `keepLast`, and none older than `maxAge`. Without any, archives are kept.
       */
      retention?: {
        [stage: string]: {
          keepLast?: number;
          maxAge?: string | HumanDuration;
        };
      };
      /** How often retention, tiering and garbage collection run; default PT1H. */
      policyInterval?: string | HumanDuration;
    };

    /** Pool used by stages that name none. Defaults to the only pool when there is one. */
    defaultPool?: string;

    /**
     * Resource pools: a named place on a hypervisor driver with capacity limits. When none is
     * configured there is one pool, `local`, on the `libvirt` driver under `data/pools/local`.
     */
    pools?: {
      [name: string]: {
        title?: string;
        /** Id of the driver that serves the pool, e.g. `libvirt`. */
        driver: string;
        /** Driver-specific location, e.g. `path` for libvirt. */
        location?: { [key: string]: string };
        capacity: {
          vcpus: number;
          memoryMiB: number;
          diskGiB: number;
        };
      };
    };
  };
}
