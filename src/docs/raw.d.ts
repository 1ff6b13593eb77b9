/** `import text from 'file?raw'`: the file's text, as Vite (the tests) and esbuild-plugins.js (the bundles) load it. */
declare module '*?raw' {
  const text: string;
  export default text;
}
