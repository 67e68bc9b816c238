/**
 * An example third-party plugin for AsyncDiff for Java, written only against {@code asyncdiff-api} and
 * {@code asyncdiff-spi}: the {@code ddpm} model adapter ({@link dev.asyncdiff.examples.ddpm.DdpmAdapterProvider})
 * for diffusers' unconditional DDPM/DDIM pipelines, and the {@code ddim_eta} sampler
 * ({@link dev.asyncdiff.examples.ddpm.DdimEtaSamplerProvider}). Both are registered in
 * {@code META-INF/services}, so a jar of this package in a plugin folder is all a host needs.
 */
package dev.asyncdiff.examples.ddpm;
