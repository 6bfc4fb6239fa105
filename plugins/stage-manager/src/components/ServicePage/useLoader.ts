import { useCallback, useEffect, useRef, useState } from 'react';

/** State of a {@link useLoader} request. */
export interface LoaderState<T> {
  value?: T;
  error?: Error;
  loading: boolean;
  /** Loads again; the last value stays while it loads, and when the reload fails. */
  reload: () => void;
}

/**
 * Runs `fn` (memoize it) now and on `reload()`. Unlike react-use's hooks, a failed reload keeps
 * the last value, so a transient error does not blank the page, and a reload during a load is
 * not dropped (the newest call wins).
 */
export function useLoader<T>(fn: () => Promise<T>): LoaderState<T> {
  const [state, setState] = useState<Omit<LoaderState<T>, 'reload'>>({
    loading: true,
  });
  const lastCall = useRef(0);

  const reload = useCallback(() => {
    const call = ++lastCall.current;
    setState(s => (s.loading ? s : { ...s, loading: true }));
    fn().then(
      value => {
        if (call === lastCall.current) {
          setState({ value, loading: false });
        }
      },
      error => {
        if (call === lastCall.current) {
          setState(s => ({ value: s.value, error, loading: false }));
        }
      },
    );
  }, [fn]);

  useEffect(() => {
    setState({ loading: true });
    reload();
  }, [reload]);

  return { ...state, reload };
}
