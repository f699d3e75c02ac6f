/** What other parts of the server (the live stream, the escalation timer) use from alerts/. */
export { alertView, AlertView, type AlertNoteView } from './view';
export { escalateOverdueAlerts, type EscalatedAlert } from './service';
export { registerAlertRoutes } from './routes';

import type { Kysely } from 'kysely';
import type { DB } from '@ccm/db';
import { notesFor } from './repository';
import { alertView as view, type AlertView } from './view';

/**
 * The API views of these alerts by id, unscoped: the caller (the live stream) scopes delivery.
 * Two queries whatever their number (a stream round carries many alert changes at once), run
 * at the same time.
 */
export async function loadAlertViews(
  db: Kysely<DB>,
  ids: readonly string[],
): Promise<Map<string, AlertView>> {
  const out = new Map<string, AlertView>();
  const unique = [...new Set(ids)];
  if (unique.length === 0) return out;
  // Side by side on two pooled connections: the notes need only the ids asked for.
  const [rows, notes] = await Promise.all([
    db.selectFrom('alerts').selectAll().where('id', 'in', unique).execute(),
    notesFor(db, unique),
  ]);
  for (const row of rows) out.set(row.id, view(row, notes.get(row.id) ?? []));
  return out;
}
