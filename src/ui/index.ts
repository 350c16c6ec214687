// The web console room: the browser code lives in app/ (it talks to the API over HTTP only);
// this side only builds it into static files for the API to serve.
export { buildUi, describeUi, ensureUi, UI_DIST, UI_SOURCE, type UiBuild, uiNeedsBuild } from './build.ts';
