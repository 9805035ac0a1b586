// Back within the app if there is somewhere to go back to (vue-router keeps
// `back` in history.state); else to the given route (a page opened directly).
export function goBack(router, fallback) {
  if (window.history.state && window.history.state.back) router.back();
  else router.replace(fallback);
}
