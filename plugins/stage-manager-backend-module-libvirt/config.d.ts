export interface Config {
  stageManager?: {
    drivers?: {
      /** The libvirt + QEMU driver. */
      libvirt?: {
        /** libvirt connection URI. Default `qemu:///system`. */
        uri?: string;
        /** Domain type: `qemu` (software emulation) or `kvm` where hardware allows. Default `qemu`. */
        domainType?: 'qemu' | 'kvm';
        /**
         * Folder for the driver's runtime files (serial logs, DHCP host lists, dnsmasq pid files).
         * Default `data/run/libvirt` under the backend's working directory.
         */
        runDir?: string;
        /** Seconds a graceful shutdown may take before the machine is forced off. Default 30. */
        stopTimeoutSeconds?: number;
      };
    };
  };
}
