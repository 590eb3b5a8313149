/** Vite's `?url` imports: the URL the asset is served from (dev) or was emitted to (build). */
declare module '*?url' {
  const url: string;
  export default url;
}
