import { createRouter, createWebHashHistory } from 'vue-router';
import { api } from './api.js';
import Login from './views/Login.vue';
import Home from './views/Home.vue';

// Hash routes (#/pay, #/history, …): the server serves /me/ only.
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/login', name: 'login', component: Login },
    { path: '/', name: 'home', component: Home, meta: { auth: true, tab: 'home' } },
    { path: '/pay', name: 'pay', component: () => import('./views/PayCode.vue'), meta: { auth: true, tab: 'pay' } },
    { path: '/history', name: 'history', component: () => import('./views/History.vue'), meta: { auth: true, tab: 'history' } },
    { path: '/inspections', name: 'inspections', component: () => import('./views/Inspections.vue'), meta: { auth: true, tab: 'home' } },
    { path: '/shops', name: 'shops', component: () => import('./views/Shops.vue'), meta: { auth: true, tab: 'shops' } },
    { path: '/shops/:id(\\d+)', name: 'shop', component: () => import('./views/ShopItems.vue'), meta: { auth: true, tab: 'shops' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
  scrollBehavior: () => ({ top: 0 }),
});

router.beforeEach((to) => {
  const signedIn = api.isSignedIn();
  if (to.meta.auth && !signedIn) return { name: 'login' };
  if (to.name === 'login' && signedIn) return { name: 'home' };
  return true;
});
