//! Before anything starts: every image of the file is on the Docker engine, or can be
//! pulled, or is built from the service's `build` context (`super::build`). A missing
//! image is a [`SystemError`] located at the first service that uses it and naming every
//! one.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt as _;
use testcontainers::bollard::Docker;
use testcontainers::bollard::query_parameters::CreateImageOptionsBuilder;

use qalens_model::system::{ErrorKind, System, SystemError};

/// How long a pull may take before the image counts as missing.
const PULL_DEADLINE: Duration = Duration::from_secs(300);

/// Checks every image of `system` on `docker`: builds what a `build` section describes
/// and the engine does not have yet (tagged by the context's digest, so built once), and
/// pulls any other image the engine does not have.
pub async fn check_images(docker: &Docker, system: &System) -> Result<(), SystemError> {
    let mut images: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, s) in &system.services {
        if let Some(build) = &s.build {
            if docker.inspect_image(&s.image.to_string()).await.is_err() {
                eprintln!(
                    "qalens: building image {} for service {name} from {}",
                    s.image,
                    build.context.display()
                );
                super::build::build(docker, system, s, build).await?;
            }
            continue;
        }
        images
            .entry(s.image.to_string())
            .or_default()
            .push(name.clone());
    }
    for (image, services) in images {
        let service = services[0].clone();
        if docker.inspect_image(&image).await.is_ok() {
            continue;
        }
        let missing = |why: String| {
            let err = SystemError::new(
                &system.file,
                ErrorKind::MissingImage {
                    image: image.clone(),
                    services: services.clone(),
                    why,
                },
            )
            .service(&service)
            .key("image");
            // Named at the service's `image` key, when the file still reads as it did.
            match qalens_model::input::read_text(&system.file, qalens_model::input::MAX_TEXT_BYTES)
            {
                Ok(text) => err.locate_in(&text),
                Err(_) => err,
            }
        };
        let options = CreateImageOptionsBuilder::new().from_image(&image).build();
        let pull = async {
            let mut stream = docker.create_image(Some(options), None, None);
            while let Some(step) = stream.next().await {
                step.map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        };
        match tokio::time::timeout(PULL_DEADLINE, pull).await {
            Ok(Ok(())) if docker.inspect_image(&image).await.is_ok() => {}
            Ok(Ok(())) => return Err(missing("the pull finished without the image".into())),
            Ok(Err(e)) => return Err(missing(e)),
            Err(_) => return Err(missing(format!("the pull took over {PULL_DEADLINE:?}"))),
        }
    }
    Ok(())
}
