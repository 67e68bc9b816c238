/**
 * The types users and plugins share: {@link dev.asyncdiff.api.Tensor} and its
 * {@link dev.asyncdiff.api.DType} and {@link dev.asyncdiff.api.Device}, the denoiser and its
 * components, noise schedulers, parallel strategies and {@link dev.asyncdiff.api.AsyncConfig}.
 *
 * <p>This package has no native dependency. Types that hold resources are {@link AutoCloseable};
 * whoever creates one closes it.
 */
package dev.asyncdiff.api;
