export default {
  station: {
    title: 'Drop-off station',
    login: { heading: 'Attendant sign-in' },
  },
};
