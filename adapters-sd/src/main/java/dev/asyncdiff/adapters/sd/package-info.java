/**
 * Stable Diffusion 1.5, 2.1 and XL pipelines over exported ONNX model folders: family detection
 * from {@code model_index.json} ({@link dev.asyncdiff.adapters.sd.ModelFolder}), text conditioning
 * with classifier-free guidance, the VAE, text-to-image and image-to-image generation
 * ({@link dev.asyncdiff.adapters.sd.StableDiffusionPipeline}), and the {@code sd} model adapter
 * provider.
 *
 * <p>A pipeline owns the sessions it loads and the strategy that runs its denoiser; closing it
 * releases them. The denoising loop itself belongs to a {@link dev.asyncdiff.api.ParallelStrategy}
 * found through {@link dev.asyncdiff.spi.StrategyProvider}.
 */
package dev.asyncdiff.adapters.sd;
