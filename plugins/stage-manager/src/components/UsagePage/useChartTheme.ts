import { useTheme } from '@material-ui/core/styles';
import { CSSProperties, useMemo } from 'react';

/** Colours and styles for recharts, from the app's theme so charts read in light and dark mode. */
export interface ChartTheme {
  tick: { fill: string; fontSize: number | string };
  axisLine: string;
  grid: string;
  cursor: string;
  text: string;
  tooltip: {
    contentStyle: CSSProperties;
    labelStyle: CSSProperties;
    itemStyle: CSSProperties;
  };
  /** Colours for series that have no meaning of their own (stages), used in turn. */
  series: string[];
  allocated: string;
  measured: string;
  capacity: string;
}

export function useChartTheme(): ChartTheme {
  const theme = useTheme();
  return useMemo(() => {
    const { palette } = theme;
    return {
      tick: {
        fill: palette.text.secondary,
        fontSize: theme.typography.caption.fontSize ?? 12,
      },
      axisLine: palette.divider,
      grid: palette.divider,
      cursor: palette.action.hover,
      text: palette.text.primary,
      tooltip: {
        contentStyle: {
          backgroundColor: palette.background.paper,
          borderColor: palette.divider,
          color: palette.text.primary,
        },
        labelStyle: { color: palette.text.primary },
        itemStyle: { color: palette.text.primary },
      },
      series: [
        palette.primary.main,
        palette.success.main,
        palette.warning.main,
        palette.secondary.main,
        palette.info.main,
        palette.error.main,
      ],
      allocated: palette.primary.main,
      measured: palette.warning.main,
      capacity: palette.error.main,
    };
  }, [theme]);
}
