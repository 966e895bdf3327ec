// Panels for the safety audit (critical misses on the ego path) and explainability (saliency).
export function registerSafetyPanels(): void {
  // Filled in as the panels land.
}
