import { createRouter, createWebHashHistory } from 'vue-router';
import { api } from './api.js';
import { SECTIONS } from './sections.js';
import Login from './views/Login.vue';

const Layout = () => import('./views/Layout.vue');

export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', name: 'login', component: Login },
    {
      path: '/',
      component: Layout,
      meta: { auth: true },
      redirect: '/dashboard',
      children: SECTIONS.map((s) => ({
        path: s.path.slice(1),
        name: s.key,
        component: s.view,
        meta: { auth: true, section: s.key, admin: !!s.admin },
      })),
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

router.beforeEach((to) => {
  const signedIn = api.isSignedIn();
  if (to.meta.auth && !signedIn) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  if (to.name === 'login' && signedIn) return '/';
  if (to.meta.admin && api.session && api.session.role !== 'admin') return '/';
  return true;
});
