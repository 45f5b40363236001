/** The app's version, shown by the CLI and the UI and recorded in every project it creates. */
export const APP_VERSION = '0.1.0';
