import { renderInTestApp } from '@backstage/frontend-test-utils';
import { Template } from '@internal/plugin-stage-manager-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { StageManagerApi, stageManagerApiRef } from '../../api';
import {
  TEMPLATES,
  createApi,
  responseError,
} from '../ConfigurationsPage/testFixtures';
import { TemplatesPage } from './TemplatesPage';

// Rendering pages is slow on a busy 2-core CI machine (guests boot in parallel).
jest.setTimeout(30_000);

function renderPage(api: StageManagerApi) {
  return renderInTestApp(<TemplatesPage />, {
    apis: [[stageManagerApiRef, api]],
  });
}

function rowsOf(table: HTMLElement): string[][] {
  return within(table)
    .getAllByRole('row')
    .slice(1)
    .map(row => [...row.children].map(cell => cell.textContent ?? ''));
}

async function fill(dialog: HTMLElement, label: string | RegExp, text: string) {
  const input = within(dialog).getByLabelText(label);
  await userEvent.clear(input);
  if (text) {
    await userEvent.click(input);
    await userEvent.paste(text);
  }
}

describe('TemplatesPage', () => {
  it('lists the catalog with images, default sizes and readiness checks', async () => {
    const api = createApi();
    renderPage(api);

    const table = await screen.findByRole('table', { name: 'Templates' });
    expect(api.listTemplates).toHaveBeenCalledWith({ limit: 500 });
    expect(rowsOf(table).map(row => row.slice(0, 8))).toEqual([
      [
        'Debian 12debian-12Debian bookworm with cloud-init',
        '/var/lib/stage-manager/images/debian-12.qcow2libvirt, boots from disk',
        '2',
        '2 GiB',
        'root 10 GiB',
        'eth0',
        'power state only',
        '1',
      ],
      [
        'PostgreSQL 16postgres-16',
        '/var/lib/stage-manager/images/postgres-16.qcow2libvirt, boots kernel /var/lib/stage-manager/images/vmlinuz, initrd /var/lib/stage-manager/images/initrd.gz',
        '4',
        '4 GiB',
        'root 10 GiB, data 50 GiB (blank)',
        'eth0',
        'HTTP GET :8008/health containing "running", within 300 s',
        '4',
      ],
    ]);
  });

  it('creates a template and lists it', async () => {
    const alpine: Template = {
      ...TEMPLATES[0],
      id: 't-alpine',
      name: 'alpine-3',
      title: undefined,
      description: undefined,
    };
    const listTemplates = jest
      .fn()
      .mockResolvedValueOnce({ items: TEMPLATES, totalCount: 2 })
      .mockResolvedValue({ items: [alpine, ...TEMPLATES], totalCount: 3 });
    const api = createApi({
      listTemplates,
      createTemplate: jest.fn(async () => alpine),
    });
    renderPage(api);
    await screen.findByRole('table', { name: 'Templates' });

    await userEvent.click(screen.getByRole('button', { name: 'New template' }));
    const dialog = await screen.findByRole('dialog', { name: 'New template' });
    await fill(dialog, /^Name/, 'alpine-3');
    await fill(dialog, /^Base image/, '/images/alpine.qcow2');
    await fill(dialog, /^Memory \(MiB\)/, '512');
    await fill(dialog, /^Root disk \(GiB\)/, '2');
    await fill(dialog, 'Readiness port', '80');
    await fill(dialog, 'Readiness path', '/healthz');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Create' }),
    );

    await waitFor(() =>
      expect(
        screen.queryByRole('dialog', { name: 'New template' }),
      ).not.toBeInTheDocument(),
    );
    expect(api.createTemplate).toHaveBeenCalledWith({
      name: 'alpine-3',
      driver: 'libvirt',
      baseImage: '/images/alpine.qcow2',
      vcpus: 1,
      memoryMiB: 512,
      disks: [{ name: 'root', sizeGiB: 2, source: 'base' }],
      nics: [{ name: 'eth0', network: 'fence' }],
      boot: { type: 'disk' },
      readiness: { http: { port: 80, path: '/healthz' } },
    });
    await waitFor(() =>
      expect(
        rowsOf(screen.getByRole('table', { name: 'Templates' })),
      ).toHaveLength(3),
    );
  });

  it('checks the form and shows why the backend refused', async () => {
    const api = createApi({
      createTemplate: jest.fn(async () => {
        throw await responseError(
          409,
          'Conflict',
          'ConflictError',
          "Template 'debian-12' already exists",
        );
      }),
    });
    renderPage(api);
    await screen.findByRole('table', { name: 'Templates' });
    await userEvent.click(screen.getByRole('button', { name: 'New template' }));
    const dialog = await screen.findByRole('dialog', { name: 'New template' });

    await fill(dialog, /^Name/, 'Debian');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Create' }),
    );
    expect(within(dialog).getByLabelText(/^Name/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect(within(dialog).getByLabelText(/^Base image/)).toHaveAttribute(
      'aria-invalid',
      'true',
    );
    expect(api.createTemplate).not.toHaveBeenCalled();

    await fill(dialog, /^Name/, 'debian-12');
    await fill(dialog, /^Base image/, '/images/debian.qcow2');
    await userEvent.click(
      within(dialog).getByRole('button', { name: 'Create' }),
    );

    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      "Could not create the template: Template 'debian-12' already exists",
    );
    expect(screen.getByRole('dialog', { name: 'New template' })).toBeVisible();
  });

  it("shows the backend's error", async () => {
    const api = createApi({
      listTemplates: jest.fn(async () => {
        throw await responseError(
          403,
          'Forbidden',
          'NotAllowedError',
          'You may not read templates',
        );
      }),
    });
    renderPage(api);

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'You may not read templates',
    );
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });
});
