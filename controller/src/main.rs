fn main() {
    print!("{}", ecs_controller::api::crds_yaml().unwrap());
}
