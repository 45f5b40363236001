/**
 * The renderer's response headers now live in main/contract/security-headers.ts, shared with the
 * browser-mode server (main/host must not import from this Electron shell). Re-exported here so the
 * shell's modules keep their import path.
 */
export { CONTENT_SECURITY_POLICY, contentTypeFor, rendererHeaders } from '../contract/security-headers.ts';
