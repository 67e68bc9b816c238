/**
 * The compatibility kit. An adapter author extends {@link dev.asyncdiff.tck.AdapterVerification},
 * names the adapter, a model folder and tolerances, and gets one JUnit 5 dynamic test per
 * {@link dev.asyncdiff.tck.Check}; {@link dev.asyncdiff.tck.CompatibilityKit} runs the same checks
 * outside JUnit and {@link dev.asyncdiff.tck.KitReport} writes their results as JSON, Markdown or HTML
 * (with a chart of the per-step distances).
 */
package dev.asyncdiff.tck;
