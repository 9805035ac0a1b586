export default {
  station: {
    title: '投放点',
    login: { heading: '值守员登录' },
  },
};
