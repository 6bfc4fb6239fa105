import { makeStyles } from '@material-ui/core';

const useStyles = makeStyles({
  svg: {
    width: 'auto',
    height: 28,
  },
  path: {
    fill: '#7df3e1',
  },
});

/** Three chevrons: a configuration moving through its stages. */
export const LogoIcon = () => {
  const classes = useStyles();
  return (
    <svg
      className={classes.svg}
      xmlns="http://www.w3.org/2000/svg"
      viewBox="0 0 48 32"
      role="img"
      aria-label="Stage Manager"
    >
      {[0, 15, 30].map((x, i) => (
        <path
          key={x}
          className={classes.path}
          opacity={0.5 + i * 0.25}
          d={`M${x} 2 h6 l10 14 l-10 14 h-6 l10 -14 z`}
        />
      ))}
    </svg>
  );
};
