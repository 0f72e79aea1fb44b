import { QueryClientProvider } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { type AppRouter, createClient, createQueryClient, TRPCProvider } from './api/trpc.ts';
import { App } from './app.tsx';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');

const trpcClient = createClient();
// A refusal or an expired session anywhere means `auth.me` has news: the shell follows it.
const queryClient = createQueryClient((client) => {
  void client.invalidateQueries({ queryKey: trpc.auth.me.queryKey() });
});
const trpc = createTRPCOptionsProxy<AppRouter>({ client: trpcClient, queryClient });

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
