// Panels for evaluation, hard-case queries, run comparison, safety misses, saliency: one registerPanel call each.
export function registerEvaluationPanels(): void {
  // Filled in as the panels land.
}
