package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What an export's {@code timestep} input accepts. Optimum and diffusers' conversion script declare
 * it int64 for SD 1.x and SDXL UNets, float for others; diffusers' own ONNX pipelines cast the
 * scheduler's timesteps to the declared type. The integer timesteps of samplers such as PNDM, DDIM or
 * Euler with {@code leading} spacing convert exactly; a sampler whose timesteps are fractional
 * (Karras sigmas, {@code linspace} spacing) cannot drive an integer-timestep UNet without changing
 * what it computes, so that is refused before the loop starts.
 */
public final class TimestepContract {
    private static final String TIMESTEP = "timestep";

    private TimestepContract() {
    }

    /**
     * Checks that {@code timesteps} fit the denoiser's declared {@code timestep} input.
     *
     * @param inputs  what the denoiser's first component declares
     * @param sampler the sampler's name as the user chose it (for the message)
     * @throws IllegalArgumentException naming the sampler, a fractional timestep and the declared dtype
     */
    public static void check(List<TensorSpec> inputs, double[] timesteps, String sampler, Path denoiser) {
        TensorSpec declared = inputs.stream().filter(s -> s.name().equals(TIMESTEP)).findFirst().orElse(null);
        if (declared == null || declared.dtype().isFloatingPoint()) {
            return;
        }
        for (double t : timesteps) {
            if (t != Math.rint(t)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "the sampler '%s' steps at timesteps "
                        + "that are not whole numbers (e.g. %.4f), but %s declares its 'timestep' input as %s; choose "
                        + "a sampler with integer timesteps (ddim, pndm, ddpm, or euler without Karras sigmas and "
                        + "with leading or trailing spacing), or export the denoiser with a float timestep", sampler, t,
                        denoiser, declared.dtype().name().toLowerCase(Locale.ROOT)));
            }
        }
    }
}
