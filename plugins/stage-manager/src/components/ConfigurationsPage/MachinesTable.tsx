import { MachineSpec, Template } from '@internal/plugin-stage-manager-common';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableContainer from '@material-ui/core/TableContainer';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { ReactNode } from 'react';
import { formatDisks, formatMemory } from './format';
import { machineResources } from './resources';

/** A size, marked when it comes from the template rather than the machine. */
function Size(props: { own: boolean; children: ReactNode }) {
  return (
    <>
      {props.children}
      {!props.own && (
        <Typography variant="caption" color="textSecondary" component="div">
          from template
        </Typography>
      )}
    </>
  );
}

/** Machines in the order they start: by start order, then as the version lists them. */
export function byStartOrder(machines: MachineSpec[]): MachineSpec[] {
  return machines
    .map((machine, index) => ({ machine, index }))
    .sort(
      (a, b) =>
        (a.machine.startOrder ?? 0) - (b.machine.startOrder ?? 0) ||
        a.index - b.index,
    )
    .map(({ machine }) => machine);
}

/** The machines of a configuration version with the resources each is deployed with. */
export function MachinesTable(props: {
  machines: MachineSpec[];
  templates: ReadonlyMap<string, Template>;
  label: string;
}) {
  const { machines, templates, label } = props;
  const unknown = '—';
  return (
    <TableContainer>
      <Table size="small" aria-label={label}>
        <TableHead>
          <TableRow>
            <TableCell>Name</TableCell>
            <TableCell>Template</TableCell>
            <TableCell>Tier</TableCell>
            <TableCell align="right">Start order</TableCell>
            <TableCell align="right">vCPU</TableCell>
            <TableCell align="right">Memory (MiB)</TableCell>
            <TableCell align="right">Disk (GiB)</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {byStartOrder(machines).map(machine => {
            const template = templates.get(machine.template);
            const r = machineResources(machine, template);
            return (
              <TableRow key={machine.name}>
                <TableCell component="th" scope="row">
                  {machine.name}
                </TableCell>
                <TableCell>
                  {template?.title
                    ? `${template.title} (${machine.template})`
                    : machine.template}
                </TableCell>
                <TableCell>{machine.tier ?? ''}</TableCell>
                <TableCell align="right">{machine.startOrder ?? 0}</TableCell>
                <TableCell align="right">
                  <Size own={machine.vcpus !== undefined}>
                    {r.vcpus ?? unknown}
                  </Size>
                </TableCell>
                <TableCell align="right">
                  <Size own={machine.memoryMiB !== undefined}>
                    <span
                      title={
                        r.memoryMiB !== undefined
                          ? formatMemory(r.memoryMiB)
                          : undefined
                      }
                    >
                      {r.memoryMiB ?? unknown}
                    </span>
                  </Size>
                </TableCell>
                <TableCell align="right">
                  <Size own={machine.disks !== undefined}>
                    <span title={r.disks ? formatDisks(r.disks) : undefined}>
                      {r.diskGiB ?? unknown}
                    </span>
                  </Size>
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </TableContainer>
  );
}
