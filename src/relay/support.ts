/**
 * GET /.well-known/matrix/support (spec v1.10): whom to contact about this server, from the SUPPORT_* settings.
 * With none set there is nothing to say, and the spec's answer for that is 404.
 */
import type { Config } from '../config.js';
import { notFound } from '../errors.js';

interface Contact {
  role: 'm.role.admin';
  matrix_id?: string;
  email_address?: string;
}

export function supportInfo(config: Config): { contacts?: Contact[]; support_page?: string } {
  const { supportContactEmail: email, supportContactMxid: mxid, supportPage: page } = config;
  if (email === undefined && mxid === undefined && page === undefined) throw notFound('No support information is configured.');
  const contact: Contact = { role: 'm.role.admin', ...(mxid !== undefined ? { matrix_id: mxid } : {}), ...(email !== undefined ? { email_address: email } : {}) };
  return {
    ...(email !== undefined || mxid !== undefined ? { contacts: [contact] } : {}),
    ...(page !== undefined ? { support_page: page } : {}),
  };
}
