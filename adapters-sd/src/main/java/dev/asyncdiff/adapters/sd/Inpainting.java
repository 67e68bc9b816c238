package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import java.awt.image.BufferedImage;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Inpainting as diffusers' {@code StableDiffusionInpaintPipeline} and {@code StableDiffusionXLInpaintPipeline} do
 * it: the mask converted to grayscale and binarised at 0.5, the masked image {@code image · (mask < 0.5)} encoded
 * by the VAE, and the mask resized to the latent grid (nearest). A 9-channel UNet reads
 * {@code [latents, mask, masked-image latents]} every step ({@link #stepInputs()}); a 4-channel UNet used as an
 * inpainter keeps the unmasked latents on the init image's noised latents after every step ({@link #blending}).
 *
 * @param batch         images per generation
 * @param channels      latent channels
 * @param latentHeight  latent rows
 * @param latentWidth   latent columns
 * @param latentMask    {@code [h · w]}, 1 where the image is repainted
 * @param maskedLatents the masked image's scaled latents {@code [channels, h, w]}
 * @param imageLatents  the init image's scaled latents {@code [channels, h, w]}
 * @param noise         the generation's noise {@code [batch, channels, h, w]}, which the blend re-noises with
 */
record Inpainting(int batch, int channels, int latentHeight, int latentWidth, float[] latentMask,
                  float[] maskedLatents, float[] imageLatents, float[] noise) {
    private static final Logger LOG = LoggerFactory.getLogger(Inpainting.class);

    /** The UNet input channels of an inpainting UNet over {@code latent} channels: latents, mask, masked latents. */
    static int inpaintingChannels(int latent) {
        return 2 * latent + 1;
    }

    /**
     * Prepares inpainting {@code init} where {@code mask} is white, at {@code width × height}.
     *
     * @param imageLatents the init image's scaled latents, already encoded
     * @throws IllegalArgumentException when the mask is not an image
     */
    static Inpainting prepare(Vae vae, BufferedImage init, BufferedImage mask, float[] imageLatents, int width,
                              int height, int batch, float[] noise) {
        int factor = vae.scaleFactor();
        float[] pixels = binaryMask(mask, width, height);
        float[] masked = maskedImage(Images.toTensorData(init, width, height), pixels);
        return new Inpainting(batch, vae.latentChannels(), height / factor, width / factor,
                latentMask(pixels, width, height, factor), vae.encode(masked, width, height), imageLatents, noise);
    }

    /**
     * The mask at {@code width × height} as 0 or 1 per pixel: resized (Pillow's Lanczos, as diffusers) when its size differs, converted
     * to luma as PIL's {@code convert("L")} does ({@code (299 R + 587 G + 114 B) / 1000}) and binarised at 0.5.
     */
    static float[] binaryMask(BufferedImage mask, int width, int height) {
        if (mask.getWidth() != width || mask.getHeight() != height) {
            LOG.warn("the inpainting mask is {}x{}, the image {}x{}: resizing the mask to the image", mask.getWidth(),
                    mask.getHeight(), width, height);
        }
        BufferedImage sized = mask.getWidth() == width && mask.getHeight() == height ? mask
                : Images.resize(mask, width, height);
        float[] binary = new float[width * height];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int rgb = sized.getRGB(x, y);
                int luma = (((rgb >> 16) & 0xFF) * 299 + ((rgb >> 8) & 0xFF) * 587 + (rgb & 0xFF) * 114) / 1000;
                binary[y * width + x] = luma / 255.0 < 0.5 ? 0f : 1f;
            }
        }
        return binary;
    }

    /** torch's nearest interpolation of the pixel mask onto the latent grid: latent (i, j) reads pixel (i·f, j·f). */
    static float[] latentMask(float[] pixels, int width, int height, int factor) {
        int h = height / factor;
        int w = width / factor;
        float[] latent = new float[h * w];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                latent[i * w + j] = pixels[i * factor * width + j * factor];
            }
        }
        return latent;
    }

    /** {@code image · (mask < 0.5)}: the image {@code [3, h, w]} in [-1, 1] with the repainted pixels at 0. */
    static float[] maskedImage(float[] chw, float[] pixels) {
        float[] masked = chw.clone();
        int plane = pixels.length;
        for (int i = 0; i < masked.length; i++) {
            if (pixels[i % plane] >= 0.5f) {
                masked[i] = 0f;
            }
        }
        return masked;
    }

    /** The 9-channel UNet's {@code sample}: each branch's scaled latents, then the mask, then the masked latents. */
    StepInputs stepInputs() {
        float[] extra = new float[latentMask.length + maskedLatents.length];
        System.arraycopy(latentMask, 0, extra, 0, latentMask.length);
        System.arraycopy(maskedLatents, 0, extra, latentMask.length, maskedLatents.length);
        return new ExtraChannels(extra, 1, channels + 1);
    }

    /**
     * {@code sampler}, stepping as before and then keeping the unmasked latents on the init image noised to the
     * next of {@code timesteps} (un-noised after the last): {@code (1 − mask) · noised + mask · latents}, as the
     * pipelines do for 4-channel UNets. For one generation: it counts the steps.
     */
    NoiseScheduler blending(NoiseScheduler sampler, double[] timesteps) {
        return new Blending(sampler, timesteps.clone());
    }

    private final class Blending implements NoiseScheduler {
        private final NoiseScheduler sampler;
        private final double[] timesteps;
        private int steps;

        Blending(NoiseScheduler sampler, double[] timesteps) {
            this.sampler = sampler;
            this.timesteps = timesteps;
        }

        /** The sampler's step, then the blend with the init latents re-noised as diffusers does after the step. */
        @Override
        public Tensor step(Tensor modelOutput, double timestep, Tensor sample, RandomGenerator rng) {
            int k = steps++;
            try (Tensor next = sampler.step(modelOutput, timestep, sample, rng)) {
                float[] kept = new float[batch * imageLatents.length];
                for (int image = 0; image < batch; image++) {
                    System.arraycopy(imageLatents, 0, kept, image * imageLatents.length, imageLatents.length);
                }
                if (k + 1 < timesteps.length) {
                    // after the step, so that samplers locating addNoise by their step index find step k + 1
                    try (Tensor clean = Tensor.ofFloats(kept, batch, channels, latentHeight, latentWidth);
                         Tensor gaussian = Tensor.ofFloats(noise, batch, channels, latentHeight, latentWidth);
                         Tensor noised = sampler.addNoise(clean, gaussian, timesteps[k + 1])) {
                        kept = noised.toFloatArray();
                    }
                }
                float[] latents = next.toFloatArray();
                int plane = latentHeight * latentWidth;
                for (int i = 0; i < latents.length; i++) {
                    float m = latentMask[i % plane];
                    latents[i] = (1 - m) * kept[i] + m * latents[i];
                }
                return Tensor.ofFloats(latents, next.shape());
            }
        }

        @Override
        public void setTimesteps(int numInferenceSteps) {
            sampler.setTimesteps(numInferenceSteps);
        }

        @Override
        public double[] timesteps() {
            return sampler.timesteps();
        }

        @Override
        public double initNoiseSigma() {
            return sampler.initNoiseSigma();
        }

        @Override
        public int order() {
            return sampler.order();
        }

        @Override
        public Tensor scaleModelInput(Tensor sample, double timestep) {
            return sampler.scaleModelInput(sample, timestep);
        }

        @Override
        public Tensor addNoise(Tensor original, Tensor gaussian, double timestep) {
            return sampler.addNoise(original, gaussian, timestep);
        }

        @Override
        public void setBeginIndex(int index) {
            sampler.setBeginIndex(index);
        }

        @Override
        public String toString() {
            return sampler + " with the inpainting blend";
        }
    }
}
