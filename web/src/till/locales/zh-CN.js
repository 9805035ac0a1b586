export default {
  till: {
    title: '积分兑换',
    login: { heading: '店员登录' },
  },
};
