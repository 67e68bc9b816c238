package dev.asyncdiff.examples.ddpm;

import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What the exported UNet's declared inputs (as the strategy's backend probed them) must offer before a
 * loop starts: a {@code sample} input with the configured channels, and a {@code timestep} input, int64
 * or float, scalar or {@code [batch]}. The backend converts the scheduler's timesteps to the declared
 * dtype and rank, which an integer input can take only for whole-number timesteps. Stateless.
 */
final class UnetContract {
    private static final String SAMPLE = "sample";
    private static final String TIMESTEP = "timestep";

    private UnetContract() {
    }

    /**
     * Checks the declared inputs against the folder and the timesteps of the loop.
     *
     * @throws MalformedModelException  when {@code sample} or {@code timestep} is missing, or {@code sample}
     *                                  declares other channels than {@code unet/config.json}
     * @throws IllegalArgumentException when the sampler's timesteps are fractional but the UNet takes integers
     */
    static void check(List<TensorSpec> inputs, DdpmModelFolder model, double[] timesteps, String sampler) {
        Path unet = model.unet();
        TensorSpec sample = find(inputs, SAMPLE, unet);
        TensorSpec timestep = find(inputs, TIMESTEP, unet);
        long[] shape = sample.shape();
        if (shape.length != 4) {
            throw new MalformedModelException(unet, "input 'sample' must be [batch, channels, height, width], "
                    + "declared rank " + shape.length);
        }
        if (shape[1] >= 0 && shape[1] != model.channels()) {
            throw new MalformedModelException(unet, "input 'sample' declares " + shape[1] + " channels but "
                    + "unet/config.json says in_channels " + model.channels());
        }
        if (timestep.rank() > 1) {
            throw new MalformedModelException(unet, "input 'timestep' must be a scalar or [batch], declared rank "
                    + timestep.rank());
        }
        if (timestep.dtype().isFloatingPoint()) {
            return;
        }
        for (double t : timesteps) {
            if (t != Math.rint(t)) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "the sampler '%s' steps at timesteps "
                        + "that are not whole numbers (e.g. %.4f), but %s declares 'timestep' as %s; choose a sampler "
                        + "with integer timesteps (ddpm, ddim, ddim_eta, pndm)", sampler, t, unet,
                        timestep.dtype().name().toLowerCase(Locale.ROOT)));
            }
        }
    }

    private static TensorSpec find(List<TensorSpec> inputs, String name, Path unet) {
        return inputs.stream().filter(spec -> spec.name().equals(name)).findFirst()
                .orElseThrow(() -> new MalformedModelException(unet, "the UNet has no '" + name + "' input; it "
                        + "declares " + inputs.stream().map(TensorSpec::name).toList()));
    }
}
