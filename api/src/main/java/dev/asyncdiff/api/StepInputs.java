package dev.asyncdiff.api;

/**
 * The adapter's per-step model inputs: builds what the denoiser reads at step k from the scaled
 * latents — the latent input itself with extra channels concatenated (inpainting: latents, mask,
 * masked-image latents; the x4 upscaler: latents and the low-resolution image; SVD: image latents
 * per frame), and per-step auxiliary tensors by input name (ControlNet residuals, {@code class_labels}).
 * The strategy routes the tensors by name without knowing what they mean.
 *
 * <p>Called on the loop's thread once per guidance branch and step, with that branch's batch only;
 * with guidance in one batch the engine stacks the branches along the first axis. The returned set
 * must hold the latent input ({@code sample} or {@code hidden_states}); the engine owns it and
 * closes it after the step. {@code scaledLatents} is borrowed.
 */
@FunctionalInterface
public interface StepInputs {
    /** The name under which the hook returns the denoiser's latent input. */
    String SAMPLE = "sample";

    /** The latents alone, as the denoiser's {@code sample}. */
    StepInputs LATENTS = (step, scaledLatents) -> new NamedTensors().put(SAMPLE, scaledLatents.to(scaledLatents.dtype()));

    /**
     * The inputs of one branch at one step.
     *
     * @throws IllegalArgumentException naming the tensor when something the hook needs does not fit
     */
    NamedTensors build(StepContext step, Tensor scaledLatents);
}
