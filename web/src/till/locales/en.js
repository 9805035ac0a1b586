export default {
  till: {
    title: 'Shop till',
    login: { heading: 'Clerk sign-in' },
  },
};
