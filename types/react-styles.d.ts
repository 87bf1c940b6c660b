// token-limits/react/styles.css: a stylesheet for bundlers, with no exports. Its types say so, for
// TypeScript projects that check side-effect imports (`noUncheckedSideEffectImports`).
export {};
