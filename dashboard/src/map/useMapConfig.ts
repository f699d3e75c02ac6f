import { useQuery } from '@tanstack/react-query';
import { loadMapConfig } from './config';

export const MAP_CONFIG_KEY = ['map-config'] as const;

export const useMapConfig = () =>
  useQuery({ queryKey: MAP_CONFIG_KEY, queryFn: loadMapConfig, staleTime: Infinity });
